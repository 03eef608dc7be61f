"""The registry's Celery application.

Without a broker configured, settings make tasks run eagerly in-process (the
embedded default), so the same code paths work with and without a worker.
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.task(name="config.ping")
def ping() -> str:
    """Round-trip check used by health checks and the worker test."""
    return "pong"
