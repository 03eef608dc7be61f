"""The export's analysis dataset reproduces the engine's numbers on the database tables."""

import csv
import io
import json

import pandas as pd
import pytest

from exchange.plan import export_plan
from exchange.tables import ANALYSIS_AE_COLUMNS, ANALYSIS_PATIENT_COLUMNS
from registry import choices as c
from registry.casebook import load_casebooks
from registry.models import Patient
from tests.conftest import service_missing
from tests.exchange.conftest import seed_cohort
from tests.exchange.helpers import header, open_zip, run_export


@pytest.fixture
def seeded(coordinator_a, investigator_a, coordinator_b, investigator_b):
    """``seed_cohort`` built for each test here, not shared by the module: the tests on
    ``seeded_under_90`` need a database that holds only those five patients."""
    return seed_cohort(coordinator_a, investigator_a, coordinator_b, investigator_b)


def _engine():
    try:
        from analytics.stats import analyze, cli
    except ImportError:
        service_missing("analytics.stats (the statistics engine, branch stats)")
    return analyze, cli


def _database_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The contract tables built from the locked casebooks, as the analysis runs build them."""
    try:
        from analytics.datasets import build_analysis_tables
    except ImportError:
        pass  # the analytics app (issue 4) has not landed: build them the same way here
    else:
        tables = build_analysis_tables()
        return tables.patients, tables.adverse_events
    books = load_casebooks(
        Patient.objects.select_related("center").filter(casebook_status=c.CasebookStatus.LOCKED)
    )
    patients = [b.analysis_row() for b in books if b.analysis_row() is not None]
    events = [row for b in books if b.analysis_row() is not None for row in b.adverse_event_rows()]
    return pd.DataFrame(patients), pd.DataFrame(events)


def _read(path) -> pd.DataFrame:
    # round_trip: pandas' default float parser may differ from the written value in the
    # last bit; the files hold repr() of each float, which round-trips exactly.
    return pd.read_csv(
        path,
        dtype={"study_id": str},
        keep_default_na=False,
        na_values=[""],
        float_precision="round_trip",
    )


def _bundles(analyze, cli, zf, tmp_path, patients, events):
    zf.extractall(tmp_path / "export")
    folder = tmp_path / "export/analysis"
    plan = json.loads((folder / "plan.json").read_text())
    exported = analyze(_read(folder / "patients.csv"), _read(folder / "adverse_events.csv"), plan)
    database = analyze(patients, events, plan)
    exported, database = cli.to_jsonable(exported), cli.to_jsonable(database)
    # The dataset hash covers the study ids, which the export replaces by pseudonyms.
    exported.pop("dataset_sha256")
    database.pop("dataset_sha256")
    return exported, database


def test_analysis_dataset_reproduces_the_bundle_of_the_database_tables(
    seeded_under_90, pi_user, tmp_path
):
    analyze, cli = _engine()
    zf = open_zip(run_export(pi_user))
    exported, database = _bundles(analyze, cli, zf, tmp_path, *_database_tables())
    assert exported == database
    assert exported["n_patients"] == 5


def test_analysis_dataset_differs_from_the_database_only_by_top_coding_ages_over_89(
    seeded, pi_user, tmp_path
):
    analyze, cli = _engine()
    zf = open_zip(run_export(pi_user))
    patients, events = _database_tables()
    assert patients["age_years"].max() == 93.0  # born 1927-09-30, 2L start 2021-03-01
    patients["age_years"] = patients["age_years"].clip(upper=90.0)
    exported, database = _bundles(analyze, cli, zf, tmp_path, patients, events)
    assert exported == database


def test_analyze_command_on_the_exported_files_reproduces_the_database_bundle(
    seeded_under_90, pi_user, tmp_path
):
    analyze, cli = _engine()
    zf = open_zip(run_export(pi_user))
    zf.extractall(tmp_path / "export")
    folder = tmp_path / "export/analysis"
    out = tmp_path / "bundle.json"
    argv = [
        "--patients",
        str(folder / "patients.csv"),
        "--adverse-events",
        str(folder / "adverse_events.csv"),
        "--plan",
        str(folder / "plan.json"),
        "--out",
        str(out),
    ]
    assert cli.main(argv, io.StringIO(), io.StringIO()) == 0
    from_command = json.loads(out.read_text())
    patients, events = _database_tables()
    database = cli.to_jsonable(analyze(patients, events, export_plan()[0]))
    from_command.pop("dataset_sha256")
    database.pop("dataset_sha256")
    assert from_command == database


def test_analysis_tables_have_the_contract_columns(seeded, pi_user):
    zf = open_zip(run_export(pi_user))
    assert header(zf, "analysis/patients.csv") == [c[0] for c in ANALYSIS_PATIENT_COLUMNS]
    assert header(zf, "analysis/adverse_events.csv") == [
        "study_id",
        "term",
        "grade",
        "immune_related",
        "onset_day",
    ]
    assert [c[0] for c in ANALYSIS_AE_COLUMNS] == header(zf, "analysis/adverse_events.csv")


def test_analysis_patient_table_holds_full_precision_survival_times(seeded, pi_user):
    zf = open_zip(run_export(pi_user))
    table = list(csv.DictReader(io.StringIO(zf.read("analysis/patients.csv").decode())))
    months = sorted(float(r["pfs_months"]) for r in table)
    # Patient 1: 2L 2021-03-01 → progression 2021-07-31 = 152 days = 152 / 30.4375 months.
    assert 152 / 30.4375 in months


def test_plan_json_is_the_export_plan(seeded, pi_user):
    zf = open_zip(run_export(pi_user))
    assert json.loads(zf.read("analysis/plan.json")) == export_plan()[0]


@pytest.mark.parametrize("column", ["study_id", "center"])
def test_analysis_ids_match_the_tidy_tables(seeded, pi_user, column):
    zf = open_zip(run_export(pi_user))

    def values(name):
        return {r[column] for r in csv.DictReader(io.StringIO(zf.read(name).decode()))}

    assert values("analysis/patients.csv") == values("tables/registration.csv")


def test_analysis_patient_table_has_the_engines_columns_with_the_2l_best_response(
    seeded, pi_user, tmp_path
):
    from analytics.datasets import PATIENT_COLUMNS

    zf = open_zip(run_export(pi_user))
    assert header(zf, "analysis/patients.csv") == PATIENT_COLUMNS
    zf.extractall(tmp_path / "export")
    exported = _read(tmp_path / "export/analysis/patients.csv")
    patients, _ = _database_tables()
    # Same multiset of responses (rows are in pseudonym order, not the database's).
    assert sorted(exported["l2_best_response"].fillna("").tolist()) == sorted(
        patients["l2_best_response"].fillna("").tolist()
    )
