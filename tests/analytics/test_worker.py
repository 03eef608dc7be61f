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
from tests.analytics.worker_support import BROKER_URL, ROOT, running_worker, stop
from tests.builders import build_casebook, lock_casebook
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
