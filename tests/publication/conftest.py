"""Fixtures of the publication tests: the analytics tests' finished run (two locked casebooks)
and the demo cohort's bundle computed by the engine on the fixture files (no database)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analytics.manuscript import PackTables
from analytics.stats import analyze
from analytics.stats.plan import reference_plan
from tests.analytics.conftest import finished_run, finished_run_id  # noqa: F401

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
