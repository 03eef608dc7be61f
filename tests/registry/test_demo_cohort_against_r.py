"""The demo cohort tells the article's story, by R's survival package (not by the engine).

tests/registry/r/demo_targets.R reads fixtures/demo_patients.csv, derives the reference
plan's covariates from the raw columns itself and runs survfit, survdiff and coxph; every
figure is then compared with the reference article (seed-cohort.md) within the tolerances
of issue 17. The article prints its Cox hazard ratios reversed (HR > 1 for the groups that
live longer); the registry reports the hazard of death of the named group against its
reference, so the expected values here are the article's reciprocals.

Without Rscript the module skips, unless REQUIRE_SERVICES=1 (CI), where it fails.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import fixtures
from tests.conftest import rscript_for_module

R_SCRIPT = Path(__file__).resolve().parent / "r" / "demo_targets.R"
PATIENTS_CSV = Path(fixtures.__file__).parent / "demo_patients.csv"

RSCRIPT = rscript_for_module()

# seed-cohort.md; Table 2's HRs as printed, turned into the registry's orientation below.
ARTICLE_UNIVARIATE = {
    "liver": (0.12, 0.03, 0.53),
    "ltr": (3.16, 1.13, 8.83),
    "dpr_hi": (22.39, 2.57, 194.81),
}
ARTICLE_MULTIVARIABLE = {
    "liver": (0.13, 0.03, 0.72),
    "ltr": (12.51, 2.86, 54.69),
    "dpr_hi": (53.13, 4.02, 701.67),
}
NOT_SIGNIFICANT = [
    "age_gt60",
    "male",
    "smoker",
    "bmi_ge24",
    "ecog2",
    "brain",
    "prior_rt",
    "l2_rt",
    "l2_aa",
]
MEDIAN_TOLERANCE = 0.05  # months: the demo records whole days
CI_TOLERANCE = 0.1  # months, issue 17
# "About" the article's point estimate: within this factor (issue 17's hard bounds are the
# article's CIs, asserted as well). DpR gets a wider factor: with the medians, group sizes
# and near-separation the other targets fix, the search reached 0.074, not 0.045 (its CI
# spans a factor 76, so 1.65 is well inside the article's own uncertainty).
HR_FACTOR = {"liver": 1.25, "ltr": 1.25, "dpr_hi": 2.0}


def reversed_hr(hr: float, lo: float, hi: float) -> tuple[float, float, float]:
    """The article's (HR, lower, upper) as the hazard of the named group: 1/HR, 1/upper, 1/lower."""
    return 1 / hr, 1 / hi, 1 / lo


@pytest.fixture(scope="module")
def r(tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("demo_r") / "demo.json"
    subprocess.run(
        [RSCRIPT, str(R_SCRIPT), str(PATIENTS_CSV), str(out)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return json.loads(out.read_text())


def test_events_are_15_deaths_and_16_progressions(r):
    assert (r["os"]["n"], r["os"]["events"]) == (28, 15)
    assert r["pfs"]["events"] == r["progressions"] == 16


@pytest.mark.parametrize(
    ("endpoint", "article"), [("os", 18.87), ("pfs", 4.07), ("followup", 22.8)]
)
def test_cohort_medians_are_the_articles(r, endpoint, article):
    # R's median; no curve sits on exactly 0.5, so it is also the first time below 0.5
    assert r[endpoint]["median"] == r[endpoint]["first_below_half"]
    assert r[endpoint]["median"] == pytest.approx(article, abs=MEDIAN_TOLERANCE)


@pytest.mark.parametrize(("endpoint", "article"), [("os", (15.28, 22.45)), ("pfs", (1.15, 6.98))])
def test_spss_intervals_of_the_medians_are_the_published(r, endpoint, article):
    got = (r[endpoint]["spss_lower"], r[endpoint]["spss_upper"])
    assert got == pytest.approx(article, abs=CI_TOLERANCE)


@pytest.mark.parametrize(
    ("key", "medians_0_1"), [("ltr", (8.68, 19.98)), ("dpr_hi", (14.63, 21.84))]
)
def test_subgroup_medians_are_the_articles(r, key, medians_0_1):
    assert r["logrank"][key]["medians_0_1"] == pytest.approx(medians_0_1, abs=MEDIAN_TOLERANCE)


def test_subgroup_sizes_are_table_1_with_the_texts_dpr_split(r):
    assert r["logrank"]["ltr"]["n_0_1"] == [16, 12]  # STR, LTR
    assert r["logrank"]["dpr_hi"]["n_0_1"] == [12, 16]  # < 29%, >= 29% (the text's 16)


def test_ltr_vs_str_log_rank_p_is_the_articles_0_021(r):
    assert 0.015 <= r["logrank"]["ltr"]["p"] <= 0.03


def test_dpr_log_rank_p_is_below_0_01(r):
    assert r["logrank"]["dpr_hi"]["p"] < 0.01


@pytest.mark.parametrize("key", list(ARTICLE_UNIVARIATE))
def test_univariate_hazard_ratios_are_table_2s_reciprocals(r, key):
    hr, lo, hi = reversed_hr(*ARTICLE_UNIVARIATE[key])
    got = r["univariate"][key]
    assert got["warnings"] == []
    assert lo < got["hr"] < hi
    assert hr / HR_FACTOR[key] < got["hr"] < hr * HR_FACTOR[key]
    assert got["p"] < (0.05 if key == "ltr" else 0.01)  # Table 2: 0.03, < 0.01, < 0.01


@pytest.mark.parametrize("key", NOT_SIGNIFICANT)
def test_every_other_univariate_term_is_not_significant(r, key):
    assert r["univariate"][key]["p"] >= 0.05


def test_multivariable_model_selects_liver_ltr_and_dpr(r):
    assert sorted(r["multivariable"]["keys"]) == ["dpr_hi", "liver", "ltr"]


@pytest.mark.parametrize("key", list(ARTICLE_MULTIVARIABLE))
def test_multivariable_hazard_ratios_lie_in_table_2s_intervals(r, key):
    _, lo, hi = reversed_hr(*ARTICLE_MULTIVARIABLE[key])
    model = r["multivariable"]
    j = model["keys"].index(key)
    assert model["warnings"] == []  # finite: R does not call any coefficient infinite
    assert lo < model["hr"][j] < hi
    assert model["p"][j] < 0.05


def test_multivariable_dpr_term_is_large_and_wide_like_the_articles(r):
    model = r["multivariable"]
    j = model["keys"].index("dpr_hi")
    # The article's interval spans a factor 175 (4.02-701.67); the engine flags > 100.
    assert model["upper"][j] / model["lower"][j] > 100
    assert model["hr"][j] < 1 / 22.39  # stronger than univariately, as in the article
