"""Fixtures of the publication tests: the analytics tests' finished run (two locked casebooks),
the demo cohort's bundle computed by the engine on the fixture files (no database), and for
the data-cut tests the demo study seeded once per module, or a few locked synthetic
casebooks, committed so that freezing reads them as a PI's request would."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from django.core.management import call_command

from analytics import services as analytics_services
from analytics.manuscript import PackTables
from analytics.stats import analyze
from analytics.stats.plan import reference_plan
from tests import people
from tests.analytics.conftest import finished_run, finished_run_id  # noqa: F401
from tests.builders import bulk_casebooks
from tests.module_data import committed_for_module

DEMO = Path(__file__).resolve().parents[2] / "fixtures"


@pytest.fixture(scope="session")
def demo_tables() -> PackTables:
    patients = pd.read_csv(DEMO / "demo_patients.csv", dtype={"study_id": str})
    events = pd.read_csv(DEMO / "demo_adverse_events.csv", dtype={"study_id": str})
    return PackTables(patients, events, len(patients))


@pytest.fixture(scope="session")
def demo_bundle(demo_tables) -> dict:
    return analyze(demo_tables.patients, demo_tables.adverse_events, reference_plan())


@pytest.fixture(scope="session")
def demo_pack(demo_bundle, demo_tables) -> dict[str, bytes]:
    from analytics.manuscript import manuscript_files

    flow = {
        "registered": 31,
        "enrolled": 29,
        "locked": 28,
        "screen_failures": [{"reason": "Inclusion 2: extensive stage", "n": 2}],
    }
    return manuscript_files(
        demo_bundle,
        demo_tables,
        label="Manuscript test cut",
        dataset_sha256=demo_bundle["dataset_sha256"],
        flow=flow,
    )


def _seed_demo() -> None:
    call_command("seed_demo", stdout=StringIO())


def _five_locked_casebooks() -> None:
    analytics_services.plan_seed_demo()
    bulk_casebooks(people.center_a(), 5, lock=True, seed=3)


@pytest.fixture(scope="module")
def demo_study(django_db_setup, django_db_blocker):
    """The demo study (28 locked casebooks, the reference plan and its run)."""
    yield from committed_for_module(django_db_blocker, _seed_demo)


@pytest.fixture(scope="module")
def small_study(django_db_setup, django_db_blocker):
    """Five locked synthetic casebooks at centre A and the reference plan."""
    yield from committed_for_module(django_db_blocker, _five_locked_casebooks)
