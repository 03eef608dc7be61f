"""Contract §7 in the bundle: plan options, keys that appear only when asked, hand-checkable
values (the numbers themselves are held to R in test_second_wave_r.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.stats import EngineInputError, analyze
from analytics.stats.compare import FISHER_MAX_NODES, categorical_test, fisher_test
from analytics.stats.km import km_fit, rmst
from analytics.stats.plan import parse_plan
from analytics.stats.response import clopper_pearson

PLAN = {
    "endpoints": {"os": {"time": "os_months", "event": "os_event"}},
    "covariates": [
        {"key": "male", "column": "sex", "level": "M", "reference": "F"},
        {"key": "treated", "column": "treated", "labels": ["Untreated", "Treated"]},
    ],
    "subgroups": [],
    "multivariable": {"select": "none"},
    "table1": ["male", "age_years", "smoking"],
    "ae_groups": {},
}


def cohort() -> pd.DataFrame:
    # "treated" has every death: the Cox likelihood is monotone in it (separation)
    return pd.DataFrame(
        {
            "study_id": [f"P{i}" for i in range(1, 13)],
            "os_months": [1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
            "os_event": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0],
            "treated": [1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0],
            "sex": ["M", "F", "M", "F", "M", "F", "M", "F", "M", "F", "M", "F"],
            "age_years": [50.0, 61, 72, 48, 55, 66, 70, 59, 63, 58, 69, 52],
            "smoking": ["never", "former", "current"] * 4,
        }
    )


def test_defaults_of_the_second_wave_options_are_spelled_out_in_the_plan():
    plan = parse_plan(PLAN)
    assert {k: plan[k] for k in ("compare_by", "continuous_test", "ph_test", "firth")} == {
        "compare_by": [],
        "continuous_test": "wilcoxon",
        "ph_test": True,
        "firth": "separated",
    }
    assert plan["rmst_tau"] is None and plan["response"] is False


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("compare_by", ["nope"], "plan.compare_by: 'nope' is not a covariate key"),
        ("compare_by", "male", "plan.compare_by: must be a list of covariate keys"),
        ("continuous_test", "mann-whitney", "plan.continuous_test: unknown option"),
        ("ph_test", "yes", "plan.ph_test: must be true or false"),
        ("firth", "some", "plan.firth: unknown option 'some'"),
        ("firth", 0, "plan.firth: unknown option 0"),
        ("rmst_tau", -3, "plan.rmst_tau: must be a positive number"),
        ("rmst_tau", True, "plan.rmst_tau: must be a positive number"),
        ("response", 1, "plan.response: must be true or false"),
    ],
)
def test_bad_second_wave_options_are_refused_naming_the_key(option, value, message):
    with pytest.raises(EngineInputError, match=message):
        analyze(cohort(), None, dict(PLAN, **{option: value}))


def test_default_bundle_has_ph_on_estimable_terms_and_firth_only_on_the_separated_one():
    bundle = analyze(cohort(), None, PLAN)
    uni = {u["key"]: u for u in bundle["cox"]["univariate"]}
    assert set(uni["male"]["ph"]) == {"chi2", "df", "p"} and uni["male"]["ph"]["df"] == 1
    assert "firth" not in uni["male"]
    # the separated term: no Wald HR, no PH test of a diverged fit, a finite Firth HR > 1
    assert uni["treated"]["hr"] is None and uni["treated"]["ph"] is None
    firth = uni["treated"]["firth"]
    assert firth["ci_method"] == "profile" and firth["ties"] == "breslow"
    assert 1 < firth["ci"][0] < firth["hr"] < firth["ci"][1] < np.inf
    assert 0 < firth["p"] < 0.05
    for key in ("comparisons", "response"):
        assert key not in bundle
    assert "rmst" not in bundle["km"]["os"]


def test_firth_false_and_ph_test_false_leave_their_keys_out():
    bundle = analyze(cohort(), None, dict(PLAN, firth=False, ph_test=False))
    for u in bundle["cox"]["univariate"]:
        assert "firth" not in u and "ph" not in u


def test_firth_all_gives_every_multivariable_term_its_penalised_estimate():
    plan = dict(PLAN, firth="all", multivariable={"select": "fixed", "keys": ["male", "treated"]})
    mv = analyze(cohort(), None, plan)["cox"]["multivariable"]
    assert [t["key"] for t in mv["terms"]] == ["male", "treated"]
    assert all(t["firth"]["hr"] > 0 for t in mv["terms"])
    # the fit has a separated term: no PH test of it either
    assert mv["ph"] is None


def test_rmst_of_a_curve_without_events_is_tau_and_in_the_bundle_when_asked():
    fit = km_fit(np.array([5.0, 6, 7]), np.array([0.0, 0, 0]))
    assert rmst(fit, 4.0) == (4.0, 0.0)
    bundle = analyze(cohort(), None, dict(PLAN, rmst_tau=6))
    r = bundle["km"]["os"]["rmst"]
    # S = 1, 11/12, …, 7/12 on [0, 6): 1 + (11 + 10 + 9 + 8 + 7)/12 = 4.75 months
    assert r["tau"] == 6 and r["rmst"] == pytest.approx(4.75)
    assert r["ci"][0] < r["rmst"] < r["ci"][1]
    beyond = analyze(cohort(), None, dict(PLAN, rmst_tau=30))
    assert any("rmst_tau 30 is beyond the last follow-up" in w for w in beyond["warnings"])


def test_comparisons_split_the_table1_rows_by_the_covariate():
    bundle = analyze(cohort(), None, dict(PLAN, compare_by=["treated"]))
    (comp,) = bundle["comparisons"]
    assert comp["by"] == "treated"
    assert comp["groups"] == [{"label": "Untreated", "n": 6}, {"label": "Treated", "n": 6}]
    rows = {r["variable"]: r for r in comp["rows"]}
    # male: M at P1 P3 P5 P7 P9 P11; treated P1–P5 and P11 → 4 of 6 treated, 2 of 6 untreated
    assert rows["male"]["levels"] == [{"level": 1, "n": [2, 4], "pct": [33.3, 66.7]}]
    assert rows["male"]["test"] == "fisher"  # expected counts of 3 < 5
    assert rows["age_years"]["test"] == "wilcoxon" and rows["age_years"]["n"] == [6, 6]
    assert [lv["level"] for lv in rows["smoking"]["levels"]] == ["current", "former", "never"]


def test_response_counts_orr_and_dcr_of_the_evaluable_patients():
    df = cohort()
    df["l2_best_response"] = ["CR", "PR", "PR", "SD", "SD", "SD", "PD", "PD", "PD", "NE", "", None]
    r = analyze(df, None, dict(PLAN, response=True))["response"]
    assert r["evaluable"] == 9 and r["not_assessed"] == 2
    assert r["best_response"] == {"CR": 1, "PR": 2, "SD": 3, "PD": 3, "NE": 1}
    assert (r["orr"]["n"], r["orr"]["pct"]) == (3, 33.3)
    assert (r["dcr"]["n"], r["dcr"]["pct"]) == (6, 66.7)
    lo, hi = clopper_pearson(3, 9)
    assert r["orr"]["ci"] == [100 * lo, 100 * hi]


def test_clopper_pearson_ends_are_exact():
    # 0/n: upper = 1 − (α/2)^(1/n); n/n: lower = (α/2)^(1/n)
    assert clopper_pearson(0, 10) == (0.0, pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-12))
    assert clopper_pearson(10, 10) == (pytest.approx(0.025 ** (1 / 10), rel=1e-12), 1.0)


def test_response_needs_its_column_and_known_codes():
    with pytest.raises(EngineInputError, match=r"l2_best_response: missing column .*response"):
        analyze(cohort(), None, dict(PLAN, response=True))
    df = cohort()
    df["l2_best_response"] = ["CR"] * 11 + ["uCR"]
    with pytest.raises(EngineInputError, match=r"l2_best_response: row 12 .*got 'uCR'"):
        analyze(df, None, dict(PLAN, response=True))


def test_fisher_two_by_two_by_hand():
    # [[3, 1], [1, 3]]: tables a = 0..4 with P = C(4,a)C(4,4−a)/C(8,4) = 1,16,36,16,1 /70;
    # as or less likely than a = 3 (16/70): a = 0, 1, 3, 4 → 34/70
    res = fisher_test(np.array([[3, 1], [1, 3]]))
    assert res.p == pytest.approx(34 / 70, rel=1e-12)


def test_categorical_test_without_two_levels_is_not_computed():
    assert categorical_test(np.array([[5, 7]])).p is None


def test_fisher_on_a_table_past_the_enumeration_budget_says_so(monkeypatch):
    monkeypatch.setattr("analytics.stats.compare.FISHER_MAX_NODES", 10)
    res = fisher_test(np.array([[3, 1], [4, 6], [2, 9], [7, 1]]))
    assert res.p is None and "too large" in res.note
    assert FISHER_MAX_NODES >= 1_000_000
