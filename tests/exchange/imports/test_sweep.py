"""Imports recover like exports: a preview or commit whose worker died goes back to its
queue (a commit's transaction died with it: nothing was written), one that lost its worker
too often fails, one never sent is sent by the sweep."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from exchange.imports import services
from exchange.models import ImportJob
from registry.models import Baseline, Patient
from tests import builders
from tests.exchange.imports.helpers import Workbook, preview, template


@pytest.fixture
def sent(monkeypatch):
    ids: list[int] = []
    monkeypatch.setattr(services, "_dispatch", ids.append)
    return ids


def _stale(job, status, *, attempts=1):
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        heartbeat_at=timezone.now() - timedelta(seconds=settings.WORK_HEARTBEAT_TIMEOUT + 5),
        attempts=attempts,
        dispatched_at=timezone.now(),
    )


@pytest.fixture
def previewed(coordinator_a, tmp_path):
    patient = builders.build_casebook(coordinator_a)
    path = template(tmp_path / "t.xlsx", Patient.objects.filter(pk=patient.pk))
    book = Workbook(path)
    book.set("baseline", 0, "weight_kg", 70)
    book.save()
    return patient, preview(coordinator_a, path)


def test_commit_of_a_dead_worker_is_requeued_and_then_finishes(
    coordinator_a, previewed, sent, django_capture_on_commit_callbacks
):
    patient, job = previewed
    services.import_commit_request(user=coordinator_a, job_id=job.pk, enqueue=False)
    _stale(job, ImportJob.Status.COMMITTING)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.imports_sweep()["requeued"] == [job.pk]
    assert sent == [job.pk]
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.COMMIT_QUEUED
    assert services.import_run(job_id=job.pk).status == ImportJob.Status.DONE
    assert Baseline.objects.get(patient=patient).weight_kg == 70


def test_preview_of_a_dead_worker_goes_back_to_pending(previewed, sent):
    _patient, job = previewed
    _stale(job, ImportJob.Status.PREVIEWING)
    assert services.imports_sweep()["requeued"] == [job.pk]
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.PENDING


def test_import_that_lost_its_worker_too_often_fails(previewed, sent):
    _patient, job = previewed
    _stale(job, ImportJob.Status.COMMITTING, attempts=settings.WORK_MAX_ATTEMPTS)
    assert services.imports_sweep()["failed"] == [job.pk]
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED and "stopped responding" in job.error


def test_recent_heartbeat_is_left_alone(previewed, sent):
    _patient, job = previewed
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.PREVIEWING,
        heartbeat_at=timezone.now(),
        dispatched_at=timezone.now(),
    )
    assert services.imports_sweep() == {"requeued": [], "failed": [], "resent": []}


def test_pending_import_never_sent_is_sent_by_the_sweep(
    coordinator_a, tmp_path, sent, django_capture_on_commit_callbacks
):
    path = template(tmp_path / "t.xlsx")
    with open(path, "rb") as handle:
        job = services.import_request(
            user=coordinator_a, file=handle, file_name="t.xlsx", enqueue=False
        )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.imports_sweep()["resent"] == [job.pk]
    assert sent == [job.pk]


def test_a_duplicate_message_does_nothing(previewed):
    _patient, job = previewed
    assert services.import_run(job_id=job.pk) is None  # previewed: nothing to claim


def test_beat_and_worker_start_up_run_the_import_sweep(settings):
    from config.celery import SWEEP_TASKS, app
    from exchange import tasks  # noqa: F401 - registers the task, as a worker does

    entry = settings.CELERY_BEAT_SCHEDULE["sweep-imports"]
    assert entry["task"] == "exchange.sweep_imports" and entry["task"] in app.tasks
    assert entry["schedule"] < settings.WORK_HEARTBEAT_TIMEOUT
    assert "exchange.sweep_imports" in SWEEP_TASKS


def test_a_stalled_import_commit_shows_in_healthz(client, previewed):
    _patient, job = previewed
    _stale(job, ImportJob.Status.COMMITTING)
    body = client.get("/healthz").json()
    backlog = body["checks"]["backlog"]
    assert backlog["imports"]["running"] == 1 and backlog["imports"]["stalled"] == 1
    assert backlog["ok"] is False
