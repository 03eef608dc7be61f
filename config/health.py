"""``/healthz``: is this instance fit to serve, and is its background work moving?

For load balancers and monitoring, without signing in; it names no patient or user. The
answer is 200 while the database answers (the registry can serve pages and take writes: the
outbox keeps work until the broker is back) with ``status`` "ok", or "degraded" when the
broker, the workers or the backlog need attention; 503 when the database does not answer.
Each check is bounded in time (the broker's by core.outbox.PUBLISH_TIMEOUT).
"""

from __future__ import annotations

import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.pidbox import Mailbox

from analytics.models import AnalysisRun
from config.celery import app
from core.outbox import PUBLISH_TIMEOUT
from exchange.models import ExportJob, ImportJob


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as exc:  # noqa: BLE001 - a health check reports, it does not raise
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {}


def _broker_connection():
    options = {
        **(app.conf.broker_transport_options or {}),
        "max_retries": 0,
        "socket_connect_timeout": PUBLISH_TIMEOUT,
        "socket_timeout": PUBLISH_TIMEOUT,
    }
    return app.connection_for_write(connect_timeout=PUBLISH_TIMEOUT, transport_options=options)


def _broker() -> dict:
    if app.conf.task_always_eager:
        return {"mode": "eager (tasks run in the web process)"}
    with _broker_connection() as conn:
        conn.ensure_connection(max_retries=0, timeout=PUBLISH_TIMEOUT)
        conn.default_channel.client.ping()  # a round trip, not only a TCP connect
    return {}


def _workers() -> dict:
    if app.conf.task_always_eager:
        return {"count": 0, "mode": "eager"}
    # A mailbox of its own on a short-timeout connection: app.control would publish through
    # the app's shared producer pool, with the broker's long default retries.
    mailbox = Mailbox(app.conf.control_exchange, type="fanout", accept=["json"], serializer="json")
    with _broker_connection() as conn:
        replies = mailbox(conn)._broadcast("ping", {}, reply=True, timeout=PUBLISH_TIMEOUT) or []
    names = sorted(name for reply in replies for name in reply)
    if not names:
        raise RuntimeError("no worker answered")
    return {"count": len(names)}


def _backlog() -> dict:
    now = timezone.now()
    stale = now - timedelta(seconds=settings.WORK_HEARTBEAT_TIMEOUT)

    def summary(model, waiting, running) -> dict:
        # A status, or several (an import waits and runs twice: preview, then commit).
        waiting = [waiting] if isinstance(waiting, str) else list(waiting)
        running = [running] if isinstance(running, str) else list(running)
        rows = model.objects.all()
        oldest = (
            rows.filter(status__in=waiting)
            .order_by("created_at")
            .values_list("created_at", flat=True)
        ).first()
        return {
            "waiting": rows.filter(status__in=waiting).count(),
            "running": rows.filter(status__in=running).count(),
            "stalled": rows.filter(status__in=running, heartbeat_at__lt=stale).count(),
            "oldest_waiting_seconds": int((now - oldest).total_seconds()) if oldest else 0,
        }

    runs = summary(AnalysisRun, AnalysisRun.Status.QUEUED, AnalysisRun.Status.RUNNING)
    exports = summary(ExportJob, ExportJob.Status.PENDING, ExportJob.Status.RUNNING)
    imports = summary(
        ImportJob,
        (ImportJob.Status.PENDING, ImportJob.Status.COMMIT_QUEUED),
        (ImportJob.Status.PREVIEWING, ImportJob.Status.COMMITTING),
    )
    # Work waiting longer than a heartbeat timeout plus two sweeps is not moving.
    limit = settings.WORK_HEARTBEAT_TIMEOUT + 2 * settings.WORK_SWEEP_INTERVAL
    moving = all(
        part["oldest_waiting_seconds"] <= limit and not part["stalled"]
        for part in (runs, exports, imports)
    )
    return {"analysis_runs": runs, "exports": exports, "imports": imports, "moving": moving}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database)}
    if checks["database"]["ok"]:
        checks["backlog"] = _timed(_backlog)
        if checks["backlog"]["ok"] and not checks["backlog"]["moving"]:
            checks["backlog"]["ok"] = False
    checks["broker"] = _timed(_broker)
    checks["workers"] = _timed(_workers) if checks["broker"]["ok"] else {"ok": False}
    if not checks["database"]["ok"]:
        status, code = "down", 503
    elif all(check["ok"] for check in checks.values()):
        status, code = "ok", 200
    else:
        status, code = "degraded", 200
    return JsonResponse({"status": status, "checks": checks}, status=code)
