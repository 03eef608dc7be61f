"""Fixtures of the analytics tests: the demo plan and locked casebooks built through services."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics import services
from analytics.curves import add_figure_data
from analytics.models import AnalysisRun
from analytics.stats import analyze
from analytics.stats.plan import reference_plan
from tests import people
from tests.builders import build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD
from tests.module_data import committed_for_module


@pytest.fixture(autouse=True)
def _figure_files(settings, tmp_path):
    """Each test draws the dashboard's figures into its own folder: none left from another
    test (run ids are reused after a rollback), none written into the working tree."""
    settings.ANALYTICS_FIGURE_ROOT = tmp_path / "figures"
    return settings.ANALYTICS_FIGURE_ROOT


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


def _plan_and_two_locked_casebooks() -> int:
    """The demo plan and two complete casebooks of Alice's locked by Ivan; the id of the run
    that analysed both. Outside a test's transaction every commit runs its after-commit
    hooks at once, so the plan's run and each lock's run are computed (eager Celery) as
    they are without a worker, exactly as ``django_capture_on_commit_callbacks`` runs them
    in a test."""
    center = people.center_a()
    coordinator, investigator = people.coordinator_a(center), people.investigator_a(center)
    services.plan_seed_demo()
    for _ in range(2):
        patient = build_casebook(coordinator, complete=True)
        lock_casebook(patient, investigator, TEST_PASSWORD)
    run = AnalysisRun.objects.filter(status="done").order_by("-pk").first()
    assert run.n_analysed == 2
    return run.pk


@pytest.fixture(scope="module")
def finished_run_id(django_db_setup, django_db_blocker):
    """Built once for the module: its tests read the finished run (pages, CSV, API) and
    roll back whatever else they do (new runs, locks) with their own transaction."""
    yield from committed_for_module(django_db_blocker, _plan_and_two_locked_casebooks)


@pytest.fixture
def finished_run(finished_run_id, db):
    """The demo plan's run on two locked casebooks, done (read afresh for each test)."""
    return AnalysisRun.objects.get(pk=finished_run_id)


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


DEMO_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="module")
def demo():
    """The demo study's analysis tables and the bundle the engine makes of them, with the
    dashboard's subgroup curves and censoring marks."""
    patients = pd.read_csv(DEMO_FIXTURES / "demo_patients.csv", dtype={"study_id": str})
    events = pd.read_csv(DEMO_FIXTURES / "demo_adverse_events.csv", dtype={"study_id": str})
    bundle = analyze(patients, events, reference_plan())
    add_figure_data(bundle, patients, bundle["plan"])
    return patients, bundle
