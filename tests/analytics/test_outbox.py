"""The outbox: a lock, an unlock, a plan change or an export request answers at once whatever
the broker's state; the row waits, and the sweep sends it when the broker is back.

These tests use real Celery publishing (not eager) against a broker port where nothing
listens, one that accepts connections and never answers, and then the real Redis.
"""

from __future__ import annotations

import os
import socket
import time

import pytest
from django.urls import reverse

from analytics import services as analytics_services
from analytics.models import AnalysisRun
from analytics.stats.plan import reference_plan
from config.celery import app, ping
from core import outbox
from exchange import services as export_services
from exchange.models import ExportJob
from registry import services as registry_services
from tests.builders import build_casebook, lock_casebook
from tests.conftest import service_missing
from tests.factories import TEST_PASSWORD

REDIS_BROKER = os.environ.get("ANALYTICS_WORKER_BROKER_URL", "redis://127.0.0.1:6379/3")
# What the issue promises a user, whatever the broker does.
ANSWER_WITHIN = 2.0


@pytest.fixture
def silent_port():
    """A port whose listener completes TCP connections and then never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    yield listener.getsockname()[1]
    listener.close()


def _refused_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    return port


@pytest.fixture(params=["refused", "silent"])
def broker_down(request, monkeypatch):
    """Real Celery publishing (not eager) to a broker that is down or hung."""
    port = _refused_port() if request.param == "refused" else request.getfixturevalue("silent_port")
    url = f"redis://127.0.0.1:{port}/0"
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", url)
    monkeypatch.setattr(app.conf, "result_backend", url)
    return url


@pytest.fixture
def redis_broker(monkeypatch):
    import redis

    client = redis.Redis.from_url(REDIS_BROKER, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError:
        service_missing("Redis")
    client.delete("celery")
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", REDIS_BROKER)
    yield client
    client.delete("celery")


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def test_send_gives_up_quickly_when_the_broker_is_down(broker_down):
    sent, seconds = _timed(lambda: outbox.send(ping))
    assert sent is False
    assert seconds < 1.0


def test_send_reaches_a_live_broker(redis_broker):
    assert outbox.send(ping) is True
    assert redis_broker.llen("celery") == 1


def test_lock_answers_at_once_with_the_broker_down_and_its_run_waits(
    broker_down,
    plan_only,
    coordinator_a,
    api_investigator,
    django_capture_on_commit_callbacks,
):
    patient = build_casebook(coordinator_a, complete=True)
    url = f"/api/v1/patients/{patient.study_id}/lock/"
    body = {"password": TEST_PASSWORD, "meaning": registry_services.SIGNATURE_MEANING}
    with django_capture_on_commit_callbacks(execute=True):
        response, seconds = _timed(lambda: api_investigator.post(url, body, format="json"))
    assert response.status_code == 200, response.content
    assert seconds < ANSWER_WITHIN
    patient.refresh_from_db()
    assert patient.is_locked
    run = AnalysisRun.objects.get(trigger="lock")
    assert (run.status, run.dispatched_at) == ("queued", None)


def test_unlock_answers_at_once_with_the_broker_down(
    broker_down,
    plan_only,
    coordinator_a,
    investigator_a,
    api_dm,
    django_capture_on_commit_callbacks,
):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)  # its on_commit is not run: no run
    url = f"/api/v1/patients/{patient.study_id}/unlock/"
    with django_capture_on_commit_callbacks(execute=True):
        response, seconds = _timed(lambda: api_dm.post(url, {"reason": "typo"}, format="json"))
    assert response.status_code == 200, response.content
    assert seconds < ANSWER_WITHIN
    run = AnalysisRun.objects.get(trigger="unlock")
    assert (run.status, run.dispatched_at) == ("queued", None)


def test_plan_change_answers_at_once_with_the_broker_down(
    broker_down, api_pi, django_capture_on_commit_callbacks
):
    plan = {**reference_plan(), "name": "renamed"}
    with django_capture_on_commit_callbacks(execute=True):
        response, seconds = _timed(
            lambda: api_pi.post(reverse("api:analysis-plan"), {"plan": plan}, format="json")
        )
    assert response.status_code == 201, response.content
    assert seconds < ANSWER_WITHIN
    assert AnalysisRun.objects.get(trigger="plan").dispatched_at is None


def test_export_request_answers_at_once_with_the_broker_down(
    broker_down, api_pi, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.EXPORT_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=True):
        response, seconds = _timed(
            lambda: api_pi.post("/api/v1/exports/", {"locked_only": False}, format="json")
        )
    assert response.status_code == 202, response.content
    assert seconds < ANSWER_WITHIN
    job = ExportJob.objects.get()
    assert (job.status, job.dispatched_at) == ("pending", None)


def test_the_sweep_sends_what_waited_once_the_broker_is_back(
    plan_only, pi_user, redis_broker, django_capture_on_commit_callbacks
):
    run = analytics_services.run_start_manual(user=pi_user)  # on_commit not run: never sent
    job = export_services.export_request(user=pi_user, locked_only=False, enqueue=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert analytics_services.runs_sweep()["resent"] == [run.pk]
        assert export_services.exports_sweep()["resent"] == [job.pk]
    assert redis_broker.llen("celery") == 2
    run.refresh_from_db()
    job.refresh_from_db()
    assert run.dispatched_at is not None
    assert job.dispatched_at is not None
    # Sent and not yet taken: not sent again until it has waited WORK_HEARTBEAT_TIMEOUT.
    with django_capture_on_commit_callbacks(execute=True):
        assert analytics_services.runs_sweep()["resent"] == []
        assert export_services.exports_sweep()["resent"] == []
    assert redis_broker.llen("celery") == 2
