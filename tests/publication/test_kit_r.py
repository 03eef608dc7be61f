"""The reproduction kit run in R: its script recomputes every number of the cut's bundle.

Each test freezes a cut, unpacks its kit, runs ``Rscript reproduce.R`` (R's survival and
coxphf only) and reads the script's own comparison. Without Rscript the module skips, unless
REQUIRE_SERVICES=1 (CI), where a missing R is a failure.
"""

from __future__ import annotations

import csv
import io
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics import services as analytics_services
from analytics.datasets import AnalysisTables, _ae_frame, _patient_frame
from analytics.models import AnalysisPlan
from analytics.stats.plan import parse_plan, plan_sha256, reference_plan
from publication import kit, services
from registry.models import Patient
from tests import people
from tests.conftest import rscript_for_module

RSCRIPT = rscript_for_module()

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo(demo_study):
    return demo_study


def run_kit(cut, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    with zipfile.ZipFile(io.BytesIO(kit.kit_zip(cut))) as zf:
        zf.extractall(tmp_path)
    folder = tmp_path / f"data-cut-{cut.pk}-kit"
    done = subprocess.run(
        [RSCRIPT, "reproduce.R"], cwd=folder, capture_output=True, text=True, timeout=300
    )
    return done, folder


def comparison(folder: Path) -> dict[str, dict]:
    with open(folder / "comparison.csv", newline="") as fh:
        return {row["path"]: row for row in csv.DictReader(fh)}


def assert_every_number_reproduced(cut, tmp_path: Path) -> dict[str, dict]:
    done, folder = run_kit(cut, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = comparison(folder)
    expected = {r[0] for r in kit.expected_rows(cut.bundle)}
    assert set(rows) == expected
    failed = [r for r in rows.values() if r["ok"] != "TRUE"]
    assert not failed, failed
    return rows


def test_demo_cut_kit_reproduces_every_number_in_r(tmp_path):
    cut = services.cut_freeze(user=people.pi_user(), name="Manuscript v1")
    rows = assert_every_number_reproduced(cut, tmp_path)
    # The article's numbers are among them, each recomputed (not copied) by R.
    for path in (
        "km.os.median",
        "km.pfs.ci_lower",
        "followup.median",
        "subgroup.ltr.os.logrank.p",
        "cox.uni.liver.hr",
        "cox.uni.ltr.ph.p",
        "cox.multi.dpr_hi.firth.hr",
        "cox.multi.lr.chi2",
        "cox.multi.ph.global.p",
        "table1.age_years.q3",
        "table1.ecog.1.pct",
        "table1.bmi.>= 24.n",
        "ae._any.grade_3_5.n",
        "ae.Pneumonitis.any_grade.n",
        "ae._immune_related.any_grade.pct",
    ):
        assert rows[path]["ok"] == "TRUE" and rows[path]["r"] != ""
    assert rows["cox.multi.keys"]["r"] == "liver,ltr,dpr_hi"
    assert float(rows["km.os.median"]["r"]) == pytest.approx(cut.bundle["km"]["os"]["median"])


SECOND_WAVE = {
    **reference_plan(),
    "km_ci": "log-log",
    "ties": "breslow",
    "compare_by": ["ltr", "dpr_hi"],
    "continuous_test": "welch",
    "firth": "all",
    "rmst_tau": 12,
    "response": True,
}


def test_demo_cut_with_every_second_wave_statistic_is_reproduced(tmp_path):
    analytics_services.plan_create(user=people.pi_user(), plan=SECOND_WAVE, note="all of §7")
    cut = services.cut_freeze(user=people.pi_user(), name="Second wave")
    assert cut.bundle_from_run is None  # no run on this plan yet: computed at the freeze
    rows = assert_every_number_reproduced(cut, tmp_path)
    for path in (
        "km.os.rmst",
        "km.pfs.rmst.ci_upper",
        "response.orr.ci_lower",
        "response.dcr.pct",
        "compare.ltr.age_years.p",
        "compare.dpr_hi.smoker.p",
        "compare.ltr.ecog.test",
        "cox.uni.age_gt60.firth.p",
    ):
        assert rows[path]["ok"] == "TRUE", path
    assert rows["compare.ltr.age_years.test"]["r"] == "welch"


def test_a_wrong_expected_number_makes_the_script_fail(tmp_path):
    cut = services.cut_freeze(user=people.pi_user(), name="Manuscript v1")
    cut.bundle["km"]["os"]["median"] += 0.01  # in memory only: the kit expects a wrong median
    done, folder = run_kit(cut, tmp_path)
    assert done.returncode == 1
    rows = comparison(folder)
    assert rows["km.os.median"]["ok"] == "FALSE"
    assert sum(r["ok"] == "FALSE" for r in rows.values()) == 1


def test_the_kit_holds_no_study_id_and_no_centre_code():
    cut = services.cut_freeze(user=people.pi_user(), name="Manuscript v1")
    files = kit.kit_files(cut)
    data = (files["data/patients.csv"] + files["data/adverse_events.csv"]).decode()
    for patient in Patient.objects.select_related("center"):
        assert patient.study_id not in data
    patients = pd.read_csv(io.BytesIO(files["data/patients.csv"]))
    assert set(patients["center"]) <= {f"centre {c}" for c in "ABCDEF"}
    assert list(patients["study_id"]) == sorted(patients["study_id"])
    assert patients["study_id"].str.match(r"^S[A-Z2-7]{13}$").all()


# -- datasets built by hand: separation (Firth) and heavy ties ---------------------------------
def _tables(time, event, columns: dict[str, list], n_ae: int = 0) -> AnalysisTables:
    n = len(time)
    rows = pd.DataFrame(
        {
            "study_id": [f"T-{i:03d}" for i in range(n)],
            "center": ["T"] * n,
            "age_years": 50.0 + np.arange(n) % 30,
            "sex": ["M" if i % 3 else "F" for i in range(n)],
            "smoking": [["never", "former", "current"][i % 3] for i in range(n)],
            "bmi": 20.0 + (np.arange(n) * 7 % 11),
            "ecog": [i % 3 for i in range(n)],
            "brain_mets": [i % 2 for i in range(n)],
            "liver_mets": [0] * n,
            "prior_thoracic_rt": [(i // 2) % 2 for i in range(n)],
            "l2_radiotherapy": [0] * n,
            "l2_antiangiogenic": [0] * n,
            "l1_pfs_months": 3.0 + np.arange(n) % 7,
            "dpr_pct": 10.0 + (np.arange(n) * 13 % 50),
            "os_months": np.asarray(time, dtype=float),
            "os_event": list(event),
            "pfs_months": np.asarray(time, dtype=float) / 2,
            "pfs_event": list(event),
            "l2_best_response": [["CR", "PR", "SD", "PD", "NE", None][i % 6] for i in range(n)],
        }
    )
    for name, values in columns.items():
        rows[name] = values
    ae = pd.DataFrame(
        {
            "study_id": [f"T-{i % n:03d}" for i in range(n_ae)],
            "term": [["Cough", "Pneumonitis", "Fatigue"][i % 3] for i in range(n_ae)],
            "grade": [1 + i % 4 for i in range(n_ae)],
            "immune_related": [i % 2 for i in range(n_ae)],
            "onset_day": [10 * i for i in range(n_ae)],
        }
    )
    return AnalysisTables(patients=_patient_frame(rows), adverse_events=_ae_frame(ae), n_locked=n)


def _cut_of(tables: AnalysisTables, plan: dict, name: str):
    """A cut built by the freeze's own builder on these tables, saved as a freeze saves it."""
    normalised = parse_plan(plan)
    plan_row = AnalysisPlan(version=99, plan=plan, plan_sha256=plan_sha256(normalised))
    cut = services.cut_build(
        user=people.pi_user(), name=name, note="", tables=tables, plan=plan_row, locked=[]
    )
    cut.save()
    return cut


HAND_PLAN = {
    "km_ci": "plain",
    "covariates": [
        {"key": "liver", "label": "Liver metastasis", "column": "liver_mets"},
        {"key": "brain", "label": "Brain metastasis", "column": "brain_mets"},
        {"key": "male", "label": "Male", "column": "sex", "level": "M", "reference": "F"},
        {
            "key": "old",
            "label": "Age >= median",
            "column": "age_years",
            "op": ">=",
            "cut": "median",
        },
    ],
    "subgroups": ["liver", "brain"],
    "multivariable": {"select": "fixed", "keys": ["liver", "brain"]},
    "table1": ["age_years", "male", "smoking", "ecog", {"column": "bmi", "breaks": [22, 26]}],
    "compare_by": ["brain"],
    "rmst_tau": 6,
    "response": True,
}


def test_separated_dataset_kit_reproduces_the_firth_estimates(tmp_path):
    # liver = 1 has every event but two late ones: coxph's coefficient runs away; the bundle
    # withholds that HR and gives Firth's instead, which R's coxphf must match.
    time = list(range(1, 15))
    event = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0]
    liver = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0]
    cut = _cut_of(
        _tables(time, event, {"liver_mets": liver}, n_ae=9),
        {**HAND_PLAN, "ties": "breslow"},
        "Separated",
    )
    liver_entry = next(u for u in cut.bundle["cox"]["univariate"] if u["key"] == "liver")
    assert liver_entry["hr"] is None and liver_entry["firth"]["hr"] is not None
    rows = assert_every_number_reproduced(cut, tmp_path)
    assert rows["cox.uni.liver.firth.hr"]["ok"] == "TRUE"
    assert rows["cox.multi.liver.firth.ci_upper"]["ok"] == "TRUE"
    assert "cox.uni.liver.hr" not in rows  # null in the bundle: nothing to compare


def test_heavily_tied_dataset_kit_reproduces_every_number(tmp_path):
    rng = np.random.default_rng(7)
    n = 120
    liver = rng.integers(0, 2, n)
    time = np.ceil(rng.exponential(4 / np.exp(0.6 * liver))).clip(1, 8)
    event = (rng.uniform(size=n) < 0.7).astype(int)
    cut = _cut_of(
        _tables(time, event, {"liver_mets": liver}, n_ae=40),
        {**HAND_PLAN, "ties": "efron", "continuous_test": "t", "km_ci": "log"},
        "Tied",
    )
    rows = assert_every_number_reproduced(cut, tmp_path)
    assert rows["cox.multi.lr.p"]["ok"] == "TRUE"
    assert rows["compare.brain.bmi.test"]["r"] in ("chi2", "fisher")
