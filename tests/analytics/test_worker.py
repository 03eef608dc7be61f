"""The real stack: PostgreSQL, Redis and a Celery worker process started by this test.

A lock committed through the registry service must, within a bounded time, give a
finished run whose bundle contains the newly locked patient — computed by the worker, not
in this process. The worker talks to the same test database pytest-django created, so this
runs on PostgreSQL only (an SQLite test database is in memory and invisible to it).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from analytics.datasets import build_analysis_tables
from analytics.models import AnalysisRun
from config.celery import app
from tests.builders import build_casebook, lock_casebook
from tests.conftest import service_missing
from tests.factories import TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("ANALYTICS_WORKER_BROKER_URL", "redis://127.0.0.1:6379/3")
WAIT_SECONDS = 90

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _test_database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


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
    # Fresh connection pools, so nothing opened for the configured broker is reused.
    monkeypatch.setattr(app, "_pool", None)
    monkeypatch.setattr(app.amqp, "_producer_pool", None)
    yield client
    app.pool.force_close_all()


@pytest.fixture
def worker(broker, tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "CELERY_BROKER_URL": BROKER_URL,
        "REDIS_URL": BROKER_URL,
        "CELERY_RESULT_BACKEND": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DB_CONN_MAX_AGE": "0",
    }
    log = open(tmp_path / "worker.log", "w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-P",
            "solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        # Ready when it says so (its log line); the lock's message would wait in the queue
        # anyway, this only keeps start-up time out of the bounded wait below.
        deadline = time.monotonic() + 60
        while "ready." not in (tmp_path / "worker.log").read_text():
            assert proc.poll() is None, "the worker exited during start-up"
            assert time.monotonic() < deadline, "the worker did not start within 60 s"
            time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.seek(0)
        print(log.read()[-4000:])  # shown by pytest when the test fails
        log.close()


def test_lock_is_analysed_by_a_real_worker(worker, plan_only, coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)  # commits: the signal queues a run

    deadline = time.monotonic() + WAIT_SECONDS
    run = None
    while time.monotonic() < deadline:
        run = AnalysisRun.objects.filter(trigger="lock").first()
        if run is not None and run.status in ("done", "failed"):
            break
        time.sleep(0.5)
    assert run is not None, "no run was queued by the lock"
    assert run.status == "done", f"run ended {run.status!r}: {run.error}"
    assert run.trigger_event.patient_id == patient.pk
    assert run.bundle["n_patients"] == 1
    assert run.dataset_sha256 == build_analysis_tables().sha256()
    assert run.bundle["dataset_sha256"] == run.dataset_sha256
