"""Exports recover like analysis runs: a job whose worker died goes back to the queue, one
that lost its worker too often fails with a message, one never sent is sent by the sweep."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from exchange import services
from exchange.models import ExportJob
from exchange.writer import PARTIAL_SUFFIX, WORK_DIR_MARK
from registry.models import AuditEvent


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"


@pytest.fixture
def sent(monkeypatch):
    """Record the job ids sent to the broker (the broker boundary only)."""
    ids: list[int] = []
    monkeypatch.setattr(services, "_dispatch", ids.append)
    return ids


def _running(user, *, heartbeat_age: int, attempts: int = 1) -> ExportJob:
    job = services.export_request(user=user, locked_only=False, enqueue=False)
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportJob.Status.RUNNING,
        started_at=timezone.now(),
        heartbeat_at=timezone.now() - timedelta(seconds=heartbeat_age),
        attempts=attempts,
        dispatched_at=timezone.now(),
    )
    return job


def test_export_of_a_dead_worker_is_requeued_and_then_finishes(
    pi_user, sent, django_capture_on_commit_callbacks
):
    job = _running(pi_user, heartbeat_age=settings.WORK_HEARTBEAT_TIMEOUT + 5)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.exports_sweep()["requeued"] == [job.pk]
    assert sent == [job.pk]
    assert services.export_run(job_id=job.pk).status == "done"
    job.refresh_from_db()
    assert job.attempts == 2


def test_export_with_a_recent_heartbeat_is_left_alone(pi_user, sent):
    job = _running(pi_user, heartbeat_age=settings.WORK_HEARTBEAT_TIMEOUT - 10)
    assert services.exports_sweep() == {"requeued": [], "failed": [], "resent": [], "removed": []}
    assert ExportJob.objects.get(pk=job.pk).status == "running"


def test_export_that_lost_its_worker_too_often_fails_with_a_message(pi_user, sent):
    job = _running(
        pi_user,
        heartbeat_age=settings.WORK_HEARTBEAT_TIMEOUT + 5,
        attempts=settings.WORK_MAX_ATTEMPTS,
    )
    assert services.exports_sweep()["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.status == "failed"
    assert "stopped responding" in job.error
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.EXPORT_REFUSED, detail__job=job.pk, detail__stage="failed"
    ).exists()


def test_pending_export_never_sent_is_sent_by_the_sweep(
    pi_user, sent, django_capture_on_commit_callbacks
):
    job = services.export_request(user=pi_user, locked_only=False, enqueue=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.exports_sweep()["resent"] == [job.pk]
    assert sent == [job.pk]


def test_pending_export_sent_long_ago_and_not_taken_is_sent_again(pi_user, sent):
    job = services.export_request(user=pi_user, locked_only=False, enqueue=False)
    recently = timezone.now() - timedelta(seconds=settings.WORK_HEARTBEAT_TIMEOUT - 10)
    ExportJob.objects.filter(pk=job.pk).update(dispatched_at=recently)
    assert services.exports_sweep()["resent"] == []
    long_ago = timezone.now() - timedelta(seconds=settings.WORK_HEARTBEAT_TIMEOUT + 5)
    ExportJob.objects.filter(pk=job.pk).update(dispatched_at=long_ago)
    assert services.exports_sweep()["resent"] == [job.pk]


def _leftovers_of(job: ExportJob) -> list:
    """What a worker killed mid-write leaves: its work folder with a table, its partial ZIP."""
    root = Path(settings.EXPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    work = root / f"{job.pk}-0a1b2c3d{WORK_DIR_MARK}x7y8z9"
    (work / "tables").mkdir(parents=True)
    (work / "tables" / "registration.csv").write_text("study_id,mrn\nNGH-001,12345\n")
    partial = root / f"{job.pk}-0a1b2c3d{PARTIAL_SUFFIX}"
    partial.write_bytes(b"PK\x03\x04 half a zip")
    return [work, partial]


def test_sweep_removes_what_a_killed_worker_left_behind(pi_user, sent):
    dead = _running(pi_user, heartbeat_age=settings.WORK_HEARTBEAT_TIMEOUT + 5)
    left = _leftovers_of(dead)
    finished = services.export_run(
        job_id=services.export_request(user=pi_user, locked_only=False, enqueue=False).pk
    )
    result = services.exports_sweep()
    assert result["requeued"] == [dead.pk]
    assert sorted(result["removed"]) == sorted(p.name for p in left)
    assert not any(p.exists() for p in left)
    # The finished export's file is not a leftover.
    assert Path(ExportJob.objects.get(pk=finished.pk).file_path).is_file()


def test_sweep_leaves_the_files_of_a_job_being_written(pi_user, sent):
    alive = _running(pi_user, heartbeat_age=1)
    left = _leftovers_of(alive)
    assert services.exports_sweep()["removed"] == []
    assert all(p.exists() for p in left)


def test_celery_beat_sweeps_exports_as_often_as_runs():
    from config.celery import app
    from exchange import tasks  # noqa: F401 - registers the task, as a worker does

    entry = settings.CELERY_BEAT_SCHEDULE["sweep-exports"]
    assert entry["task"] == "exchange.sweep_exports"
    assert entry["task"] in app.tasks
    assert entry["schedule"] == settings.CELERY_BEAT_SCHEDULE["sweep-analysis-runs"]["schedule"]
    assert entry["schedule"] < settings.WORK_HEARTBEAT_TIMEOUT
