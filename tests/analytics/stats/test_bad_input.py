"""Bad input: one line naming column and row, exit status 2, no bundle written."""

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from analytics.stats.cli import main

PLAN = {
    "endpoints": {"os": {"time": "os_months", "event": "os_event"}},
    "covariates": [{"key": "male", "column": "sex", "level": "M", "reference": "F"}],
    "subgroups": [],
    "table1": ["male"],
    "ae_groups": {},
}
GOOD = "study_id,os_months,os_event,sex\nP1,1.5,1,M\nP2,2.0,0,F\nP3,3.0,1,F\n"
GOOD_AE = "study_id,term,grade,immune_related,onset_day\nP1,Cough,1,0,3\nP2,Rash,3,1,\n"


def run(tmp: Path, patients: str, ae: str | None = None, plan: dict | None = None):
    (tmp / "p.csv").write_text(patients)
    args = ["--patients", str(tmp / "p.csv"), "--out", str(tmp / "b.json")]
    if ae is not None:
        (tmp / "a.csv").write_text(ae)
        args += ["--adverse-events", str(tmp / "a.csv")]
    (tmp / "plan.json").write_text(json.dumps(PLAN if plan is None else plan))
    args += ["--plan", str(tmp / "plan.json")]
    out, err = io.StringIO(), io.StringIO()
    code = main(args, out, err)
    return code, err.getvalue(), (tmp / "b.json").exists()


def test_good_files_write_the_bundle(tmp_path):
    code, err, written = run(tmp_path, GOOD, GOOD_AE)
    assert (code, err, written) == (0, "", True)
    bundle = json.loads((tmp_path / "b.json").read_text())
    assert bundle["n_adverse_events"] == 2


@pytest.mark.parametrize(
    ("patients", "message"),
    [
        (GOOD.replace("os_event", "status"), "os_event: missing column in the patient table"),
        (GOOD.replace("2.0,0", "abc,0"), "os_months: row 2 (study_id P2): non-numeric time 'abc'"),
        (GOOD.replace("3.0,1", "-3.0,1"), "os_months: row 3 (study_id P3): negative time -3.0"),
        (GOOD.replace("2.0,0", "2.0,2"), "os_event: row 2 (study_id P2): event must be 0 or 1"),
        (GOOD.replace("P3", "P2"), "study_id: row 3 (study_id P2): duplicate study_id 'P2'"),
    ],
)
def test_bad_patient_file_exits_2_with_one_line_and_no_bundle(tmp_path, patients, message):
    code, err, written = run(tmp_path, patients)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert not written


@pytest.mark.parametrize(
    ("ae", "message"),
    [
        (GOOD_AE.replace("P2,Rash", "P9,Rash"), "study_id: row 2 (study_id P9): unknown study_id"),
        (GOOD_AE.replace("Rash,3", "Rash,7"), "grade: row 2 (study_id P2): grade must be 1–5"),
        (GOOD_AE.replace("Rash,3,1", "Rash,3,2"), "immune_related: row 2 (study_id P2): "),
        (GOOD_AE.replace("Cough", ""), "term: row 1 (study_id P1): blank term"),
        (GOOD_AE.replace("grade,", "grad,"), "grade: missing column in the adverse-event table"),
    ],
)
def test_bad_adverse_event_file_exits_2_with_one_line_and_no_bundle(tmp_path, ae, message):
    code, err, written = run(tmp_path, GOOD, ae)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert not written


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (dict(PLAN, colour="red"), "plan: unknown key 'colour'"),
        (dict(PLAN, ties="exact"), "plan.ties: unknown option 'exact'"),
        (
            dict(PLAN, covariates=[{"key": "m", "column": "sex", "lvl": "M"}]),
            "plan.covariates[0]: unknown key 'lvl'",
        ),
        (dict(PLAN, subgroups=["nope"]), "plan.subgroups: 'nope' is not a covariate key"),
        (dict(PLAN, multivariable={"select": "stepwise"}), "plan.multivariable.select"),
    ],
)
def test_bad_plan_exits_2_with_one_line_and_no_bundle(tmp_path, plan, message):
    code, err, written = run(tmp_path, GOOD, None, plan)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1
    assert not written


def test_covariate_column_not_0_1_names_column_and_row(tmp_path):
    plan = dict(PLAN, covariates=[{"key": "liver", "column": "liver_mets"}], table1=[])
    code, err, _ = run(
        tmp_path,
        GOOD.replace("sex\n", "sex,liver_mets\n")
        .replace("M\n", "M,1\n")
        .replace("F\nP3", "F,2\nP3")
        .replace("1,F\n", "1,F,0\n"),
        None,
        plan,
    )
    assert code == 2
    assert "liver_mets: row 2 (study_id P2): covariate 'liver' needs a 0/1 column" in err


def test_missing_file_and_bad_json_exit_2(tmp_path):
    err = io.StringIO()
    assert (
        main(
            ["--patients", str(tmp_path / "none.csv"), "--out", str(tmp_path / "b.json")],
            io.StringIO(),
            err,
        )
        == 2
    )
    assert "file not found" in err.getvalue()
    (tmp_path / "p.csv").write_text(GOOD)
    (tmp_path / "plan.json").write_text("{bad json")
    err = io.StringIO()
    args = [
        "--patients",
        str(tmp_path / "p.csv"),
        "--plan",
        str(tmp_path / "plan.json"),
        "--out",
        str(tmp_path / "b.json"),
    ]
    assert main(args, io.StringIO(), err) == 2
    assert "invalid JSON" in err.getvalue()
    assert not (tmp_path / "b.json").exists()


def test_unknown_command_line_option_exits_2_with_one_line(tmp_path):
    err = io.StringIO()
    assert main(["--patients", "p.csv", "--out", "b.json", "--colour"], io.StringIO(), err) == 2
    assert err.getvalue().count("\n") == 1


def test_failed_run_leaves_an_existing_bundle_untouched(tmp_path):
    (tmp_path / "b.json").write_text('{"old": true}')
    code, _, _ = run(tmp_path, GOOD.replace("3.0,1", "-3.0,1"))
    assert code == 2
    assert json.loads((tmp_path / "b.json").read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".bundle-")] == []


def test_blank_endpoint_cells_leave_the_patient_out_with_a_warning(tmp_path):
    code, _, _ = run(tmp_path, GOOD.replace("2.0,0", ",0"))
    assert code == 0
    b = json.loads((tmp_path / "b.json").read_text())
    assert b["km"]["os"]["n"] == 2
    assert any("1 patient(s) left out" in w for w in b["warnings"])


def test_python_dash_m_entry_point_runs(tmp_path):
    import subprocess
    import sys

    (tmp_path / "p.csv").write_text(GOOD)
    (tmp_path / "plan.json").write_text(json.dumps(PLAN))
    root = Path(__file__).resolve().parents[3]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "analytics.stats",
            "--patients",
            str(tmp_path / "p.csv"),
            "--plan",
            str(tmp_path / "plan.json"),
            "--out",
            str(tmp_path / "b.json"),
        ],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert pd.read_json(tmp_path / "b.json", typ="series")["n_patients"] == 3


def test_bundle_json_turns_numpy_scalars_and_nan_into_plain_json():
    import numpy as np

    from analytics.stats.cli import dumps_bundle

    assert json.loads(dumps_bundle({"a": np.int64(3), "b": np.float64(0.5)})) == {"a": 3, "b": 0.5}
    assert json.loads(dumps_bundle({"a": float("nan"), "b": [np.float64("inf")]})) == {
        "a": None,
        "b": [None],
    }
