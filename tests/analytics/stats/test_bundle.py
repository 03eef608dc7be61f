"""The bundle: covariates, tables, separation handling, hashes — on hand-built frames."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analytics.stats import EngineInputError, analyze
from analytics.stats.bundle import dataset_sha256
from analytics.stats.plan import parse_plan, reference_plan
from analytics.stats.tables import ae_table, pct

DATA = Path(__file__).resolve().parent / "data"
DEMO = Path(__file__).resolve().parents[3] / "fixtures"

MINIMAL_PLAN = {
    "endpoints": {"os": {"time": "os_months", "event": "os_event"}},
    "covariates": [{"key": "male", "column": "sex", "level": "M", "reference": "F"}],
    "subgroups": ["male"],
    "table1": ["male"],
    "ae_groups": {},
}


def small_cohort() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "study_id": [f"P{i}" for i in range(1, 9)],
            "os_months": [1.0, 2, 3, 4, 5, 6, 7, 8],
            "os_event": [1, 1, 0, 1, 1, 0, 1, 0],
            "sex": ["M", "F", "M", "F", "M", "F", "M", "F"],
        }
    )


def test_engine_runs_on_a_table_with_only_the_columns_the_plan_names():
    b = analyze(small_cohort(), None, MINIMAL_PLAN)
    assert b["n_patients"] == 8
    assert b["km"]["os"]["events"] == 5
    assert b["table1"] == [
        {"variable": "male", "level": 1, "n": 4, "pct": 50.0, "label": "M", "missing": 0}
    ]
    assert b["ae_table"] is None


def test_level_reference_covariate_makes_other_levels_missing():
    df = small_cohort()
    df["smoking"] = ["never", "current", "former", "current", "never", "never", "former", "current"]
    plan = dict(
        MINIMAL_PLAN,
        covariates=[{"key": "cur", "column": "smoking", "level": "current", "reference": "never"}],
        subgroups=[],
        table1=["cur"],
    )
    b = analyze(df, None, plan)
    uni = b["cox"]["univariate"][0]
    assert uni["n"] == 6 and uni["n_excluded"] == 2  # the two "former" rows
    assert b["covariates"][0]["n_other_missing"] == 2


def test_cut_median_reports_the_value_used():
    df = small_cohort()
    df["dpr_pct"] = [10.0, 20, 29, 29, 29, 40, 50, 60]
    plan = dict(
        MINIMAL_PLAN,
        covariates=[{"key": "dpr_hi", "column": "dpr_pct", "op": ">=", "cut": "median"}],
        subgroups=["dpr_hi"],
        table1=["dpr_hi"],
    )
    b = analyze(df, None, plan)
    assert b["covariates"][0]["cut"] == 29.0
    assert b["table1"][0]["n"] == 6  # 29, 29, 29, 40, 50, 60


def test_blank_covariate_rows_are_left_out_of_that_model_only_and_counted():
    df = small_cohort()
    df.loc[2, "sex"] = np.nan
    b = analyze(df, None, MINIMAL_PLAN)
    assert b["cox"]["univariate"][0]["n"] == 7
    assert b["cox"]["univariate"][0]["n_excluded"] == 1
    assert b["km"]["os"]["n"] == 8


def test_group_with_no_events_gives_null_hr_and_a_warning_not_a_huge_number():
    df = small_cohort()
    df["os_event"] = [1, 0, 1, 0, 1, 0, 1, 0]  # every death is male
    b = analyze(df, None, MINIMAL_PLAN)
    uni = b["cox"]["univariate"][0]
    assert uni["hr"] is None and uni["ci"] == [None, None] and uni["p"] is None
    assert any("monotone likelihood" in w for w in uni["warnings"])
    assert any("monotone likelihood" in w for w in b["warnings"])
    assert uni["diagnostics"]["events_in_group"] == [0, 4]


def test_endpoint_without_events_is_reported_not_a_crash():
    df = small_cohort()
    df["os_event"] = 0
    b = analyze(df, None, MINIMAL_PLAN)
    assert b["km"]["os"]["median"] is None
    assert any("no events" in w for w in b["warnings"])
    assert b["cox"]["univariate"][0]["hr"] is None


def test_multivariable_fixed_keys_gives_lr_test_on_their_count_of_df():
    df = small_cohort()
    df["x"] = [1, 0, 0, 1, 1, 0, 1, 0]
    plan = dict(
        MINIMAL_PLAN,
        covariates=MINIMAL_PLAN["covariates"] + [{"key": "x", "column": "x"}],
        multivariable={"select": "fixed", "keys": ["male", "x"]},
    )
    mv = analyze(df, None, plan)["cox"]["multivariable"]
    assert mv["keys"] == ["male", "x"]
    assert mv["lr_test"]["df"] == 2
    assert len(mv["terms"]) == 2


def test_percentages_round_half_up_to_one_decimal():
    assert pct(6, 28) == 21.4
    assert pct(5, 28) == 17.9
    assert pct(1, 8) == 12.5
    assert pct(1, 16) == 6.3  # 6.25 → 6.3, not banker's 6.2


def test_ae_table_counts_a_patient_once_per_term_at_worst_grade():
    ae = pd.DataFrame(
        {
            "study_id": ["P1", "P1", "P2", "P3", "P3"],
            "term": ["Cough", "Cough", "Cough", "Hypothyroidism", "Thyroiditis"],
            "grade": [1, 3, 2, 2, 1],
            "immune_related": [0, 0, 0, 1, 1],
        }
    )
    rows = ae_table(ae, 4, {"Thyroiditis": ["Hypothyroidism", "Thyroiditis"]})
    by = {r["term"]: r for r in rows}
    assert by["Cough"]["any_grade"] == {"n": 2, "pct": 50.0}
    assert by["Cough"]["grade_3_5"] == {"n": 1, "pct": 25.0}
    # the group shares a member's name, yet appears once, as the group
    assert [r["kind"] for r in rows if r["term"] == "Thyroiditis"] == ["group"]
    assert by["Thyroiditis"]["any_grade"]["n"] == 1
    assert rows[0]["kind"] == "any" and rows[0]["any_grade"]["n"] == 3
    assert rows[-1]["kind"] == "immune_related" and rows[-1]["any_grade"]["n"] == 1


def test_plan_group_without_events_is_still_listed_with_zero():
    rows = ae_table(
        pd.DataFrame({"study_id": ["P1"], "term": ["Cough"], "grade": [1], "immune_related": [0]}),
        2,
        {"Pneumonitis": ["Pneumonitis"]},
    )
    assert {
        "kind": "group",
        "term": "Pneumonitis",
        "members": ["Pneumonitis"],
        "any_grade": {"n": 0, "pct": 0.0},
        "grade_3_5": {"n": 0, "pct": 0.0},
    } in rows


def test_dataset_hash_ignores_row_order_column_order_and_int_vs_float():
    df = small_cohort()
    shuffled = df.sample(frac=1, random_state=3)[list(reversed(df.columns))]
    as_float = df.astype({"os_event": float})
    h = dataset_sha256(df, None)
    assert dataset_sha256(shuffled, None) == h
    assert dataset_sha256(as_float, None) == h
    changed = df.copy()
    changed.loc[0, "os_months"] = 1.5
    assert dataset_sha256(changed, None) != h


def test_plan_hash_is_the_same_for_a_plan_with_defaults_spelled_out():
    b1 = analyze(small_cohort(), None, MINIMAL_PLAN)
    b2 = analyze(small_cohort(), None, parse_plan(MINIMAL_PLAN))
    assert b1["plan_sha256"] == b2["plan_sha256"]


def test_bundle_is_strict_json():
    b = analyze(small_cohort(), None, MINIMAL_PLAN)
    json.dumps(b, allow_nan=False)


# The engine's own hand-built fixture names events as the article does; the registry's demo
# study (fixtures/, written by seed_demo's generator) uses the CTCAE v5.0 terms it enters.
CTCAE_TERMS = {
    "Pyrexia": "Fever",
    "Rash": "Rash maculo-papular",
    "Decreased appetite": "Anorexia",
    "Neutropenia": "Neutrophil count decreased",
    "Thrombocytopenia": "Platelet count decreased",
    "Severe skin reaction": "Erythema multiforme",
}
COHORTS = {
    "engine fixture": (DATA / "reference_patients.csv", DATA / "reference_adverse_events.csv", {}),
    "registry demo": (DEMO / "demo_patients.csv", DEMO / "demo_adverse_events.csv", CTCAE_TERMS),
}
# What each cohort must print where the article's rounding leaves room: the engine fixture
# holds the article's figures as typed; the demo records whole days, so its medians are
# 574 and 124 days (18.86 and 4.07 months) and its age Q1 55.25 (printed 55.3).
EXPECTED = {
    "engine fixture": {"age_q1": 55.3, "os_median": 18.87, "pfs_median": 4.07},
    "registry demo": {"age_q1": 55.25, "os_median": 574 / 30.4375, "pfs_median": 124 / 30.4375},
}


@pytest.fixture(scope="module", params=list(COHORTS))
def reference_cohort(request) -> tuple[dict, dict]:
    patients_csv, events_csv, term_names = COHORTS[request.param]
    patients = pd.read_csv(patients_csv, dtype={"study_id": str})
    ae = pd.read_csv(events_csv, dtype={"study_id": str})
    return analyze(patients, ae, reference_plan()), term_names, EXPECTED[request.param]


def test_reference_cohort_table1_equals_seed_cohort_counts(reference_cohort):
    reference_bundle, _, expected = reference_cohort
    rows = reference_bundle["table1"]
    got = {(r["variable"], r.get("level")): r.get("n") for r in rows}
    assert got[("age_gt60", 1)] == 18
    assert got[("male", 1)] == 24
    assert got[("smoker", 1)] == 22
    assert [got[("bmi", lv)] for lv in ("< 18.5", "18.5 to < 24", ">= 24")] == [3, 16, 9]
    assert [got[("ecog", lv)] for lv in (0, 1, 2)] == [8, 18, 2]
    assert got[("prior_rt", 1)] == 12
    assert got[("brain", 1)] == 15
    assert got[("liver", 1)] == 9
    assert got[("l2_rt", 1)] == 6
    assert got[("l2_aa", 1)] == 11
    assert got[("ltr", 1)] == 12
    assert got[("dpr_hi", 1)] == 16  # the text's 16, not Table 1's impossible 12
    age = rows[0]
    assert (age["median"], age["q1"], age["q3"]) == (65.0, expected["age_q1"], 69.0)
    pcts = {(r["variable"], r.get("level")): r.get("pct") for r in rows}
    assert pcts[("male", 1)] == 85.7 and pcts[("bmi", ">= 24")] == 32.1


def test_reference_cohort_ae_table_equals_seed_cohort_counts(reference_cohort):
    bundle, term_names, _ = reference_cohort
    by = {r["term"]: r for r in bundle["ae_table"]}
    by.update({article: by[ctcae] for article, ctcae in term_names.items() if ctcae in by})
    expected = {
        "Cough": (10, 0),
        "Dyspnea": (10, 1),
        "Pneumonitis": (10, 0),
        "Pyrexia": (3, 0),
        "Fatigue": (5, 0),
        "Rash": (4, 1),
        "Alopecia": (4, 0),
        "Pruritus": (4, 0),
        "Insomnia": (1, 0),
        "Nausea": (9, 0),
        "Decreased appetite": (10, 2),
        "Vomiting": (7, 0),
        "Constipation": (3, 0),
        "Diarrhea": (2, 0),
        "Anemia": (4, 0),
        "Neutropenia": (3, 0),
        "Thrombocytopenia": (2, 0),
        "Thyroiditis": (5, 0),
        "Severe skin reaction": (1, 1),
    }
    for term, (n_any, n_g35) in expected.items():
        assert (by[term]["any_grade"]["n"], by[term]["grade_3_5"]["n"]) == (n_any, n_g35), term
    assert by["Pneumonitis"]["kind"] == "group" and by["Thyroiditis"]["kind"] == "group"
    assert "Interstitial lung disease" not in by and "Hypothyroidism" not in by
    anyrow = by["Any adverse event"]
    assert anyrow["any_grade"] == {"n": 28, "pct": 100.0}
    assert anyrow["grade_3_5"] == {"n": 4, "pct": 14.3}
    ir = by["Any immune-related adverse event"]
    assert ir["any_grade"] == {"n": 6, "pct": 21.4}
    assert ir["grade_3_5"] == {"n": 1, "pct": 3.6}


def test_reference_cohort_outcomes_have_the_seed_cohort_event_counts(reference_cohort):
    reference_bundle, _, expected = reference_cohort
    km = reference_bundle["km"]
    assert (km["os"]["n"], km["os"]["events"], km["pfs"]["events"]) == (28, 15, 16)
    assert km["os"]["median"] == expected["os_median"]
    assert km["pfs"]["median"] == expected["pfs_median"]
    assert km["os"]["ci_method"] == "spss"


def test_unknown_plan_key_is_rejected():
    with pytest.raises(EngineInputError, match=r"plan: unknown key 'km_CI'"):
        analyze(small_cohort(), None, dict(MINIMAL_PLAN, km_CI="log"))


def test_unknown_plan_option_is_rejected():
    with pytest.raises(EngineInputError, match=r"plan.km_ci: unknown option 'loglog'"):
        analyze(small_cohort(), None, dict(MINIMAL_PLAN, km_ci="loglog"))


def test_firth_true_is_refused_naming_the_options():
    # contract §7: false | "separated" | "all"; a bare true would not say which terms
    with pytest.raises(EngineInputError, match=r'plan.firth: unknown option True .*"separated"'):
        analyze(small_cohort(), None, dict(MINIMAL_PLAN, firth=True))


def test_dataset_hash_is_the_same_for_text_and_categorical_columns():
    ae = pd.DataFrame(
        {
            "study_id": ["P2", "P1", "P1"],
            "term": ["Cough", "Rash", "Cough"],
            "grade": [1, 2, 3],
            "immune_related": [0, 1, 0],
        }
    )
    cat = ae.astype({"study_id": "category", "term": "category"})
    assert dataset_sha256(small_cohort(), ae) == dataset_sha256(small_cohort(), cat)
    assert dataset_sha256(small_cohort(), ae) != dataset_sha256(small_cohort(), ae.iloc[:2])
