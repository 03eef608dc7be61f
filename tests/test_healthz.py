"""``/healthz`` for load balancers: 200 while the database answers ("ok" or "degraded" with
the part that needs attention), 503 when it does not; no sign-in, bounded in time."""

from __future__ import annotations

import os
import socket
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from analytics.models import AnalysisRun
from config.celery import app
from tests.conftest import service_missing

REDIS_BROKER = os.environ.get("ANALYTICS_WORKER_BROKER_URL", "redis://127.0.0.1:6379/3")


def _health(client=None):
    started = time.monotonic()
    response = (client or Client()).get("/healthz")
    return response, response.json(), time.monotonic() - started


@pytest.fixture
def live_broker(monkeypatch):
    import redis

    try:
        redis.Redis.from_url(REDIS_BROKER, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError:
        service_missing("Redis")
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", REDIS_BROKER)


def test_healthy_database_with_eager_tasks_is_ok(db):
    response, body, _ = _health()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "backlog", "broker", "workers"}
    assert body["checks"]["backlog"]["analysis_runs"]["waiting"] == 0


def test_broker_down_is_degraded_not_down_and_answers_quickly(db, monkeypatch):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", f"redis://127.0.0.1:{port}/0")
    response, body, seconds = _health()
    assert response.status_code == 200  # the web can still serve: the outbox keeps work
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["workers"]["ok"] is False
    assert seconds < 2


def test_live_broker_without_a_worker_is_degraded_naming_the_workers(db, live_broker):
    response, body, _ = _health()
    assert response.status_code == 200
    assert body["checks"]["broker"]["ok"] is True
    assert body["checks"]["workers"] == {
        "ok": False,
        "error": "RuntimeError: no worker answered",
        "ms": body["checks"]["workers"]["ms"],
    }
    assert body["status"] == "degraded"


def test_work_waiting_too_long_is_degraded(db, settings):
    run = AnalysisRun.objects.create(trigger="manual")
    waited = settings.WORK_HEARTBEAT_TIMEOUT + 2 * settings.WORK_SWEEP_INTERVAL + 10
    AnalysisRun.objects.filter(pk=run.pk).update(
        created_at=timezone.now() - timedelta(seconds=waited)
    )
    response, body, _ = _health()
    assert response.status_code == 200
    backlog = body["checks"]["backlog"]
    assert backlog["ok"] is False
    assert backlog["analysis_runs"]["waiting"] == 1
    assert backlog["analysis_runs"]["oldest_waiting_seconds"] >= waited
    assert body["status"] == "degraded"


def test_database_down_is_503(db):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(refuse):
        response, body, _ = _health()
    assert response.status_code == 503
    assert body["status"] == "down"
    assert body["checks"]["database"]["ok"] is False
    assert "backlog" not in body["checks"]


def test_health_needs_no_sign_in_and_names_no_one(db, coordinator_a):
    response, body, _ = _health()
    assert response.status_code == 200
    assert coordinator_a.username not in response.content.decode()


def test_health_answers_plain_http_where_every_page_redirects_to_https(db, client, settings):
    """A probe from a load balancer or a container health check speaks plain HTTP."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code == 200
    assert client.get("/login/").status_code == 301
    assert client.get("/healthz/x").status_code == 301  # the exemption is that path only
