"""``manage.py analyze``: files (no database) or the current locked data; exit 2 on bad input."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

from analytics.management.commands.analyze import Command
from tests.builders import build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "analytics" / "stats" / "data"


def _manage(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}  # file mode: no DB
    return subprocess.run(
        [sys.executable, "manage.py", "analyze", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_file_mode_writes_the_bundle_without_a_database(tmp_path):
    out = tmp_path / "bundle.json"
    result = _manage(
        "--patients",
        str(DATA / "reference_patients.csv"),
        "--adverse-events",
        str(DATA / "reference_adverse_events.csv"),
        "--reference-plan",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    bundle = json.loads(out.read_text())
    assert (bundle["n_patients"], bundle["km"]["os"]["events"]) == (28, 15)


def test_file_mode_exits_2_with_one_line_for_a_negative_time(tmp_path):
    patients = tmp_path / "p.csv"
    patients.write_text("study_id,os_months,os_event,sex\nA,3.0,1,M\nB,-1.5,0,F\n")
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "endpoints": {"os": {"time": "os_months", "event": "os_event"}},
                "covariates": [],
                "subgroups": [],
                "table1": [],
            }
        )
    )
    out = tmp_path / "bundle.json"
    result = _manage("--patients", str(patients), "--plan", str(plan), "--out", str(out))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "analyze: error: os_months: row 2 (study_id B): negative time -1.5"
    ]
    assert not out.exists()


def test_database_mode_runs_the_current_plan_on_the_locked_casebooks(
    tmp_path, demo_plan, coordinator_a, investigator_a
):
    lock_casebook(build_casebook(coordinator_a, complete=True), investigator_a, TEST_PASSWORD)
    build_casebook(coordinator_a, complete=True)  # not locked: not analysed
    out, err = io.StringIO(), io.StringIO()
    code = Command().execute_argv(["--out", str(tmp_path / "b.json")], out, err)
    assert (code, err.getvalue()) == (0, "")
    bundle = json.loads((tmp_path / "b.json").read_text())
    assert bundle["n_patients"] == 1
    assert bundle["plan_sha256"] == demo_plan.plan_sha256


def test_database_mode_without_a_plan_exits_2_with_one_line(tmp_path, db):
    out, err = io.StringIO(), io.StringIO()
    code = Command().execute_argv(["--out", str(tmp_path / "b.json")], out, err)
    assert code == 2
    assert err.getvalue().count("\n") == 1
    assert "no analysis plan saved" in err.getvalue()


def test_database_mode_runs_a_plan_given_without_saving_it(tmp_path, coordinator_a, investigator_a):
    from analytics.models import AnalysisPlan
    from analytics.stats.plan import parse_plan, plan_sha256, reference_plan

    lock_casebook(build_casebook(coordinator_a, complete=True), investigator_a, TEST_PASSWORD)
    out, err = io.StringIO(), io.StringIO()
    code = Command().execute_argv(["--out", str(tmp_path / "b.json"), "--reference-plan"], out, err)
    assert (code, err.getvalue()) == (0, "")
    bundle = json.loads((tmp_path / "b.json").read_text())
    assert bundle["n_patients"] == 1
    assert bundle["plan_sha256"] == plan_sha256(parse_plan(reference_plan()))
    assert "the plan given (not saved)" in out.getvalue()
    assert not AnalysisPlan.objects.exists()


def test_database_mode_refuses_two_plans(tmp_path, db):
    out, err = io.StringIO(), io.StringIO()
    plan = tmp_path / "plan.json"
    plan.write_text("{}")
    args = ["--out", str(tmp_path / "b.json"), "--plan", str(plan), "--reference-plan"]
    assert Command().execute_argv(args, out, err) == 2
    assert err.getvalue() == "analyze: error: give --plan or --reference-plan, not both\n"


def test_database_mode_without_out_exits_2(db):
    out, err = io.StringIO(), io.StringIO()
    assert Command().execute_argv([], out, err) == 2
    assert err.getvalue() == "analyze: error: the following arguments are required: --out\n"


def test_help_names_both_modes():
    out, err = io.StringIO(), io.StringIO()
    assert Command().execute_argv(["--help"], out, err) == 0
    assert "--patients P.csv" in out.getvalue() and "manage.py analyze --out" in out.getvalue()
