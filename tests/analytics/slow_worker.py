"""A Celery worker whose analysis engine first sleeps, so a test can kill it mid-run.

Started by tests/analytics/test_worker.py as ``python tests/analytics/slow_worker.py worker
…``: the engine is looked up by ``analytics.services`` at call time, so replacing it there
before the worker starts slows every run this process computes (and no other).
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from analytics import services  # noqa: E402
from analytics.stats import analyze  # noqa: E402
from config.celery import app  # noqa: E402


def slow_engine(*args, **kwargs):
    time.sleep(float(os.environ.get("SLOW_ENGINE_SECONDS", "300")))
    return analyze(*args, **kwargs)


services.analyze = slow_engine

if __name__ == "__main__":
    app.worker_main(sys.argv[1:])
