"""Runs: queued after commit by locks, unlocks and plan changes; coalesced; claimed once;
reused by dataset hash; retried on transient errors; failed with a message; swept."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone

from analytics import services
from analytics.models import AnalysisRun
from analytics.stats import analyze
from analytics.tasks import compute_analysis_run
from config.celery import app
from registry import services as registry_services
from registry.models import AuditEvent
from tests.builders import build_casebook, bulk_casebooks, lock_casebook
from tests.factories import TEST_PASSWORD


def _new_runs(after_pk: int):
    return AnalysisRun.objects.filter(pk__gt=after_pk).order_by("pk")


@pytest.fixture
def baseline_pk(dispatched):
    """Runs created before the test's action (the demo plan's own run) are not counted."""
    return AnalysisRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_lock_queues_a_run_only_after_the_transaction_commits(
    dispatched, baseline_pk, coordinator_a, investigator_a, django_capture_on_commit_callbacks
):
    patient = build_casebook(coordinator_a, complete=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        lock_casebook(patient, investigator_a, TEST_PASSWORD)
        assert not _new_runs(baseline_pk).exists()
    for callback in callbacks:
        callback()
    run = _new_runs(baseline_pk).get()
    assert run.status == "queued"
    assert run.trigger == "lock"
    assert run.triggered_by == investigator_a
    assert run.trigger_event == AuditEvent.objects.get(action="lock", patient=patient)


def test_unlock_queues_a_run_linked_to_the_unlock(
    dispatched, baseline_pk, lock_new_casebook, data_manager, django_capture_on_commit_callbacks
):
    patient = lock_new_casebook()
    services.run_execute(dispatched[-1])  # the worker computes the lock's run
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.casebook_unlock(user=data_manager, patient=patient, reason="typo in ECOG")
    run = _new_runs(baseline_pk).last()
    assert (run.trigger, run.status, run.triggered_by) == ("unlock", "queued", data_manager)
    assert run.trigger_event.action == "unlock"


def test_plan_change_queues_a_run(
    dispatched, baseline_pk, pi_user, django_capture_on_commit_callbacks
):
    plan = services.plan_current().plan | {"alpha": 0.1}
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_create(user=pi_user, plan=plan, note="alpha 0.1")
    run = _new_runs(baseline_pk).get()
    assert (run.trigger, run.status, run.triggered_by) == ("plan", "queued", pi_user)
    assert dispatched[-1] == run.pk


def test_burst_of_50_locks_gives_at_most_two_runs_and_the_last_sees_all(
    dispatched, baseline_pk, coordinator_a, investigator_a, django_capture_on_commit_callbacks
):
    # 50 casebooks written in bulk and marked complete through the service; the locks, what
    # this test is about, go through the service one by one.
    patients = bulk_casebooks(coordinator_a.center, 50)
    for patient in patients:
        registry_services.casebook_mark_complete(user=coordinator_a, patient=patient)
    for i, patient in enumerate(patients):
        with django_capture_on_commit_callbacks(execute=True):
            lock_casebook(patient, investigator_a, TEST_PASSWORD)
        if i == 9:
            # A worker picks up the waiting run after 10 locks and computes while 40 more come.
            assert services.run_claim(dispatched[-1])
    runs = list(_new_runs(baseline_pk))
    assert len(runs) == 2
    assert [r.coalesced for r in runs] == [9, 39]
    assert services.run_execute(runs[1].pk) == "done"
    assert AnalysisRun.objects.get(pk=runs[1].pk).bundle["n_patients"] == 50


def test_run_on_unchanged_data_and_plan_reuses_the_finished_run(
    dispatched, baseline_pk, lock_new_casebook, pi_user
):
    lock_new_casebook()
    first = dispatched[-1]
    assert services.run_execute(first) == "done"
    second = services.run_start_manual(user=pi_user)
    calls = []
    assert services.run_execute(second.pk, engine=lambda *a: calls.append(a)) == "reused"
    second.refresh_from_db()
    assert calls == []
    assert second.reused_from_id == first
    assert second.bundle is None
    assert second.result == AnalysisRun.objects.get(pk=first).bundle


def test_claim_is_atomic_and_a_second_claim_gets_nothing(dispatched, lock_new_casebook):
    lock_new_casebook()
    run_id = dispatched[-1]
    assert services.run_claim(run_id) is True
    assert services.run_claim(run_id) is False
    assert AnalysisRun.objects.filter(pk=run_id, status="queued").update(status="running") == 0


def test_duplicate_delivery_of_a_finished_run_computes_nothing(dispatched, lock_new_casebook):
    lock_new_casebook()
    run_id = dispatched[-1]
    assert services.run_execute(run_id) == "done"
    finished = AnalysisRun.objects.get(pk=run_id).finished_at
    assert services.run_execute(run_id) == "not claimed"
    assert AnalysisRun.objects.get(pk=run_id).finished_at == finished


def test_bug_in_the_engine_marks_the_run_failed_with_its_message(dispatched, lock_new_casebook):
    lock_new_casebook()

    def broken_engine(patients, adverse_events, plan):  # test double of the engine boundary
        raise KeyError("os_months")

    assert services.run_execute(dispatched[-1], engine=broken_engine) == "failed"
    run = AnalysisRun.objects.get(pk=dispatched[-1])
    assert run.status == "failed"
    assert run.error == "KeyError: 'os_months'"
    assert run.finished_at is not None


def test_transient_database_error_gives_the_run_back_to_the_queue(dispatched, lock_new_casebook):
    lock_new_casebook()

    def database_away(patients, adverse_events, plan):  # test double of the engine boundary
        raise OperationalError("server closed the connection unexpectedly")

    with pytest.raises(OperationalError):
        services.run_execute(dispatched[-1], engine=database_away)
    assert AnalysisRun.objects.get(pk=dispatched[-1]).status == "queued"
    assert services.run_execute(dispatched[-1]) == "done"


def test_task_retries_a_transient_error_and_then_finishes(
    dispatched, lock_new_casebook, monkeypatch
):
    lock_new_casebook()
    calls = []

    def flaky_engine(patients, adverse_events, plan):  # fails once, then the real engine
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("could not connect to server")
        return analyze(patients, adverse_events, plan)

    monkeypatch.setattr(services, "analyze", flaky_engine)
    # throw=False: as a worker does, the Retry is acted on (re-run) instead of raised here.
    compute_analysis_run.apply(args=[dispatched[-1]], throw=False)
    run = AnalysisRun.objects.get(pk=dispatched[-1])
    assert len(calls) == 2
    assert (run.status, run.attempts) == ("done", 2)


def _stale(run_id: int, seconds: int) -> None:
    AnalysisRun.objects.filter(pk=run_id).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_sweeper_requeues_a_run_left_running_by_a_dead_worker(
    dispatched, lock_new_casebook, django_capture_on_commit_callbacks
):
    lock_new_casebook()
    run_id = dispatched[-1]
    assert services.run_claim(run_id)
    _stale(run_id, settings.WORK_HEARTBEAT_TIMEOUT + 5)
    with django_capture_on_commit_callbacks(execute=True):
        swept = services.runs_sweep()
    assert swept["requeued"] == [run_id]
    assert dispatched[-1] == run_id
    assert services.run_execute(run_id) == "done"


def test_sweeper_leaves_a_run_with_a_recent_heartbeat_alone(dispatched, lock_new_casebook):
    lock_new_casebook()
    run_id = dispatched[-1]
    assert services.run_claim(run_id)
    _stale(run_id, settings.WORK_HEARTBEAT_TIMEOUT - 30)
    assert services.runs_sweep()["requeued"] == []
    assert AnalysisRun.objects.get(pk=run_id).status == "running"


def test_sweeper_fails_a_run_that_lost_its_worker_too_often(dispatched, lock_new_casebook):
    lock_new_casebook()
    run_id = dispatched[-1]
    assert services.run_claim(run_id)
    AnalysisRun.objects.filter(pk=run_id).update(attempts=settings.WORK_MAX_ATTEMPTS)
    _stale(run_id, settings.WORK_HEARTBEAT_TIMEOUT + 5)
    assert services.runs_sweep()["failed"] == [run_id]
    run = AnalysisRun.objects.get(pk=run_id)
    assert run.status == "failed"
    assert "stopped responding" in run.error


def test_sweeper_resends_a_queued_run_whose_message_was_lost(
    dispatched, lock_new_casebook, django_capture_on_commit_callbacks
):
    lock_new_casebook()
    run_id = dispatched.pop()
    AnalysisRun.objects.filter(pk=run_id).update(
        created_at=timezone.now() - timedelta(seconds=settings.WORK_HEARTBEAT_TIMEOUT + 5)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.runs_sweep()["resent"] == [run_id]
    assert dispatched == [run_id]


def test_celery_beat_runs_the_sweeper_periodically():
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-analysis-runs"]
    assert entry["task"] == "analytics.sweep_analysis_runs"
    assert entry["task"] in app.tasks
    assert 0 < entry["schedule"] <= settings.WORK_HEARTBEAT_TIMEOUT


def test_no_run_is_queued_without_an_analysis_plan(
    db, coordinator_a, investigator_a, django_capture_on_commit_callbacks
):
    patient = build_casebook(coordinator_a, complete=True)
    with django_capture_on_commit_callbacks(execute=True):
        lock_casebook(patient, investigator_a, TEST_PASSWORD)
    assert not AnalysisRun.objects.exists()
