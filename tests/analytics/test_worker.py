"""The real stack: PostgreSQL, Redis and Celery worker processes started by these tests.

A lock committed through the registry service must, within a bounded time, give a
finished run whose bundle contains the newly locked patient — computed by the worker, not
in this process. A worker killed in the middle of a run must not leave it 'running': its
heartbeat stops, the sweep (celery beat) re-queues it, another worker computes it. The
workers talk to the same test database pytest-django created, so this runs on PostgreSQL
only (an SQLite test database is in memory and invisible to them).
"""

from __future__ import annotations

import sys
import time

import pytest
from django.db import connection

from analytics.datasets import build_analysis_tables
from analytics.models import AnalysisRun
from config.celery import app
from registry.choices import CasebookStatus
from registry.models import Patient
from tests.analytics.worker_support import (
    BROKER_URL,
    PGBOUNCER_URL,
    ROOT,
    pgbouncer_release,
    pgbouncer_transactions,
    running_worker,
    stop,
)
from tests.builders import build_casebook, bulk_casebooks, lock_casebook
from tests.conftest import service_missing
from tests.factories import TEST_PASSWORD

WAIT_SECONDS = 90

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _redis_or_missing():
    import redis

    client = redis.Redis.from_url(BROKER_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError:
        service_missing("Redis")
    return client


@pytest.fixture
def broker(monkeypatch):
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL")
    client = _redis_or_missing()
    client.delete("celery")  # messages left by an earlier, interrupted run of this test
    # This process publishes to the real broker instead of running tasks eagerly.
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", BROKER_URL)
    _fresh_pools()  # nothing opened for the configured broker is reused
    yield client
    # kombu keeps its pools in a process-wide registry keyed by the broker URL: closing ours
    # without dropping them would leave later tests (eager tasks acquire a producer too) a
    # closed pool. reset() closes and forgets them all; the app makes new ones on demand.
    _fresh_pools()
    client.delete("celery")
    if PGBOUNCER_URL:
        pgbouncer_release(connection.settings_dict["NAME"])


def _fresh_pools() -> None:
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def worker(broker, tmp_path):
    with running_worker(tmp_path / "worker.log") as proc:
        yield proc


def _wait_for(run_filter, done, seconds: float = WAIT_SECONDS):
    deadline = time.monotonic() + seconds
    run = None
    while time.monotonic() < deadline:
        run = AnalysisRun.objects.filter(**run_filter).first()
        if run is not None and done(run):
            return run
        time.sleep(0.2)
    return run


def test_lock_is_analysed_by_a_real_worker(worker, plan_only, coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)  # commits: the signal queues a run

    run = _wait_for({"trigger": "lock"}, lambda r: r.status in ("done", "failed"))
    assert run is not None, "no run was queued by the lock"
    assert run.status == "done", f"run ended {run.status!r}: {run.error}"
    assert run.trigger_event.patient_id == patient.pk
    assert run.bundle["n_patients"] == 1
    assert run.dataset_sha256 == build_analysis_tables().sha256()
    assert run.bundle["dataset_sha256"] == run.dataset_sha256


def test_health_counts_the_running_worker(worker):
    from django.test import Client

    body = Client().get("/healthz").json()
    assert body["checks"]["workers"]["ok"] is True, body
    assert body["checks"]["workers"]["count"] == 1
    assert body["status"] == "ok", body


# Short enough that the test takes seconds; production's defaults are 60 s and 15 s.
RECOVERY_ENV = {"WORK_HEARTBEAT_TIMEOUT": "3", "WORK_SWEEP_INTERVAL": "1"}


def test_run_of_a_killed_worker_is_recovered_by_another(
    broker, tmp_path, plan_only, coordinator_a, investigator_a
):
    slow = [sys.executable, str(ROOT / "tests/analytics/slow_worker.py")]
    with running_worker(tmp_path / "slow.log", command=slow, **RECOVERY_ENV) as doomed:
        patient = build_casebook(coordinator_a, complete=True)
        lock_casebook(patient, investigator_a, TEST_PASSWORD)
        run = _wait_for({"trigger": "lock"}, lambda r: r.step == "computing the analyses", 60)
        assert run is not None and run.step == "computing the analyses", run
        # Beats while it computes: the heartbeat thread, not only the steps, touches the row.
        first_beat = run.heartbeat_at
        time.sleep(2)
        run.refresh_from_db()
        assert run.heartbeat_at > first_beat
        stop(doomed, kill=True)  # kill -9 in the middle of the engine
        killed_at = time.monotonic()
    run.refresh_from_db()
    assert run.status == "running"

    # A fresh worker with beat: the sweep sees the stale heartbeat and re-queues the run.
    beat = ["-B", "-s", str(tmp_path / "beat-schedule")]
    with running_worker(tmp_path / "rescuer.log", args=beat, **RECOVERY_ENV):
        run = _wait_for({"pk": run.pk}, lambda r: r.status in ("done", "failed"))
        recovered_after = time.monotonic() - killed_at
    print(f"run {run.pk} recovered {recovered_after:.1f} s after its worker was killed")
    assert run.status == "done", f"run ended {run.status!r}: {run.error}"
    assert run.attempts == 2
    assert run.bundle["n_patients"] == 1
    # Stale after 3 s, swept every 1 s, and the worker's start-up: well within the bound.
    assert recovered_after < 60


def test_two_workers_compute_each_run_of_50_locks_exactly_once(
    broker, tmp_path, plan_only, center_a, investigator_a
):
    """Scaling out (issue 16): two workers on one database and one broker, 50 locks in a
    row. Every run is claimed by one worker once (no run computed twice, none lost), and the
    last run holds all 50 casebooks."""
    # Set-up only: 50 complete casebooks written in bulk (building them one by one through
    # the services would take minutes); the locks below go through the service.
    patients = bulk_casebooks(center_a, 50, lock=False, seed=5)
    Patient.objects.filter(pk__in=[p.pk for p in patients]).update(
        casebook_status=CasebookStatus.COMPLETE
    )
    database = connection.settings_dict["NAME"]
    pooled_before = pgbouncer_transactions(database) if PGBOUNCER_URL else 0
    with (
        running_worker(tmp_path / "worker-1.log") as first,
        running_worker(tmp_path / "worker-2.log") as second,
    ):
        for patient in patients:
            lock_casebook(patient, investigator_a, TEST_PASSWORD)
        deadline = time.monotonic() + 4 * WAIT_SECONDS
        while AnalysisRun.objects.exclude(status__in=("done", "failed")).exists():
            assert time.monotonic() < deadline, "runs still waiting after the bound"
            time.sleep(0.3)
        assert first.poll() is None and second.poll() is None
    runs = list(AnalysisRun.objects.order_by("pk"))
    assert runs, "the locks queued no run"
    assert [(r.status, r.attempts) for r in runs] == [("done", 1)] * len(runs), [
        r.error for r in runs
    ]
    assert runs[-1].n_locked == 50
    assert runs[-1].bundle["n_patients"] == 50
    # Coalescing: 50 locks in a row need far fewer than 50 runs.
    assert sum(r.coalesced for r in runs) + len(runs) == 50
    print(f"50 locks: {len(runs)} runs, coalesced {[r.coalesced for r in runs]}")
    if PGBOUNCER_URL:
        # The workers' claims, heartbeats and reads went through PgBouncer's transaction
        # pooling (at least a claim and a result per run), not around it.
        assert pgbouncer_transactions(database) - pooled_before >= 2 * len(runs)
