"""Fixtures of the analytics tests: the demo plan and locked casebooks built through services."""

from __future__ import annotations

import pytest

from analytics import services
from tests.builders import build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD


@pytest.fixture
def demo_plan(db, django_capture_on_commit_callbacks):
    """The reference plan, with the run its creation queued already computed (no data yet)."""
    with django_capture_on_commit_callbacks(execute=True):
        return services.plan_seed_demo()


@pytest.fixture
def lock_new_casebook(coordinator_a, investigator_a, django_capture_on_commit_callbacks):
    """Build a complete casebook and lock it, running the after-commit hooks (the signal)."""

    def lock(**kwargs):
        patient = build_casebook(coordinator_a, complete=True, **kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            lock_casebook(patient, investigator_a, TEST_PASSWORD)
        patient.refresh_from_db()
        return patient

    return lock


@pytest.fixture
def dispatched(demo_plan, monkeypatch):
    """Record the run ids sent to the broker instead of sending them.

    A test double of the broker boundary only: it lets a test hold runs in the queue, as
    a busy or absent worker would, and then run them by calling the task's service.
    """
    sent: list[int] = []
    monkeypatch.setattr(services, "_dispatch", sent.append)
    return sent


@pytest.fixture
def plan_only(db):
    """The reference plan saved without queuing anything (for tests that count runs)."""
    from analytics.models import AnalysisPlan
    from analytics.stats.plan import parse_plan, plan_sha256, reference_plan

    plan = reference_plan()
    return AnalysisPlan.objects.create(
        version=1, plan=plan, plan_sha256=plan_sha256(parse_plan(plan))
    )
