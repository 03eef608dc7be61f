"""The registry's Celery application.

Without a broker configured, settings make tasks run eagerly in-process (the
embedded default), so the same code paths work with and without a worker.
"""

import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="config.ping", ignore_result=True)
def ping() -> str:
    """Round-trip check used by health checks and the worker test."""
    return "pong"


# Tasks that recover background work: each sends the rows no worker has taken and re-queues
# the rows of a dead worker (core/outbox.py). Celery beat runs them every
# WORK_SWEEP_INTERVAL seconds; a worker runs them as soon as it starts, so work queued while
# the broker or every worker was down starts without waiting for beat.
SWEEP_TASKS = (
    "analytics.sweep_analysis_runs",
    "exchange.sweep_exports",
    "exchange.sweep_imports",
)


@worker_ready.connect
def sweep_when_a_worker_starts(sender=None, **kwargs) -> None:
    from core.outbox import send

    for name in SWEEP_TASKS:
        send(app.tasks[name])
