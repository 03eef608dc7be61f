"""The engine against lifelines, a second, independent implementation, on the reference cohort.

lifelines (requirements-dev.txt; never imported by the engine) has its own Kaplan–Meier,
log-rank and Cox code. Where R (test_against_r.py) is the reference the engine must equal,
this module checks the same results against a Python implementation written by other people,
on tests/analytics/stats/data/reference_patients.csv, so a test run without Rscript still
compares the engine with something other than itself.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test

from analytics.stats.covariates import derive_all
from analytics.stats.cox import cox_fit
from analytics.stats.km import km_fit
from analytics.stats.logrank import logrank
from analytics.stats.plan import reference_plan

DATA = Path(__file__).resolve().parent / "data"
PLAN_KEYS = [c["key"] for c in reference_plan()["covariates"]]

# lifelines' Newton–Raphson stops by default when ‖Δβ‖ < 1e-7 or the Newton decrement
# gᵀH⁻¹g/2 < 1e-7; the decrement is quadratic in Δβ, so it stops up to ~3e-4 short of the
# maximum (measured: 1.6e-4 on bmi_ge24). precision=1e-20 turns both stops off and
# r_precision=1e-15 stops only once the log-likelihood no longer moves, i.e. at the maximum.
LIFELINES_AT_MAXIMUM = {"precision": 1e-20, "r_precision": 1e-15}
# The engine stops where R's coxph does (relative log-likelihood change ≤ 1e-9, coxfit6),
# which can be a step short of the exact maximum: on this cohort that leaves β and se at most
# 7.4e-9 relative from lifelines' maximum (liver, univariate; the tied fit below agrees to
# 4e-14). Hence 1e-7: over ten times that, and far below a real difference (Efron and
# Breslow coefficients differ by 6–10 % on the tied data below).
COX_RTOL = 1e-7


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """OS time/event and the reference plan's 12 binary covariates, one row per patient."""
    patients = pd.read_csv(DATA / "reference_patients.csv", dtype={"study_id": str})
    values, _ = derive_all(patients, reference_plan()["covariates"])
    df = pd.DataFrame({"T": patients["os_months"], "E": patients["os_event"]})
    for key, v in values.items():
        df[key] = v
    df["ecog"] = patients["ecog"]
    assert not df.isna().any().any()  # complete: both fits see the same 28 rows
    return df


def test_km_survival_equals_lifelines(cohort):
    # both are Π(1 − d/n) over the same times: equal to rounding
    t, e = cohort["T"].to_numpy(float), cohort["E"].to_numpy(float)
    fit = km_fit(t, e, "log-log")
    kmf = KaplanMeierFitter().fit(t, e)
    theirs = kmf.survival_function_.iloc[:, 0].loc[fit.time].to_numpy()
    np.testing.assert_allclose(fit.surv, theirs, rtol=1e-12, atol=0)


def test_km_log_log_band_equals_lifelines_exponential_greenwood(cohort):
    # lifelines' default KM interval is the "exponential Greenwood" (log(−log S)) band,
    # R's conf.type = "log-log"; same closed form, so equal to rounding
    t, e = cohort["T"].to_numpy(float), cohort["E"].to_numpy(float)
    fit = km_fit(t, e, "log-log")
    ci = KaplanMeierFitter().fit(t, e, alpha=0.05).confidence_interval_.loc[fit.time]
    np.testing.assert_allclose(fit.lower, ci.iloc[:, 0].to_numpy(), rtol=1e-12, atol=0)
    np.testing.assert_allclose(fit.upper, ci.iloc[:, 1].to_numpy(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("column", ["ltr", "ecog"])  # 2 groups; 3 groups (ECOG 0/1/2)
def test_logrank_chi2_and_p_equal_lifelines(cohort, column):
    # closed form (no iteration) on both sides: equal to rounding; lifelines' p is scipy's
    t, e = cohort["T"].to_numpy(float), cohort["E"].to_numpy(float)
    _, codes = np.unique(cohort[column].to_numpy(), return_inverse=True)
    mine = logrank(t, e, codes)
    theirs = multivariate_logrank_test(t, codes, e)
    assert mine.df == theirs.degrees_of_freedom
    assert mine.chi2 == pytest.approx(theirs.test_statistic, rel=1e-12)
    assert mine.p == pytest.approx(theirs.p_value, rel=1e-12)


@pytest.mark.parametrize("key", PLAN_KEYS)
def test_univariate_cox_coef_and_se_equal_lifelines(cohort, key):
    # OS has no tied deaths, so Efron = Breslow here; the tied case is the next test
    d = cohort[["T", "E", key]]
    mine = cox_fit(d["T"].to_numpy(float), d["E"].to_numpy(float), d[key].to_numpy(float))
    theirs = CoxPHFitter().fit(d, "T", "E", fit_options=LIFELINES_AT_MAXIMUM)
    assert mine.coef[0] == pytest.approx(theirs.params_[key], rel=COX_RTOL)
    assert mine.se[0] == pytest.approx(theirs.standard_errors_[key], rel=COX_RTOL)


def test_efron_cox_with_tied_deaths_equals_lifelines(cohort):
    # OS in whole quarters (ceil(months / 3)) ties the 15 deaths into 8 times (up to 3 per
    # time); lifelines uses Efron's method, as coxph and the engine do by default
    keys = ["liver", "ltr", "dpr_hi"]
    d = cohort[["T", "E", *keys]].assign(T=np.ceil(cohort["T"] / 3))
    assert d.loc[d["E"] == 1, "T"].value_counts().max() == 3
    mine = cox_fit(d["T"].to_numpy(float), d["E"].to_numpy(float), d[keys].to_numpy(float))
    theirs = CoxPHFitter().fit(d, "T", "E", fit_options=LIFELINES_AT_MAXIMUM)
    np.testing.assert_allclose(mine.coef, theirs.params_[keys].to_numpy(), rtol=COX_RTOL)
    np.testing.assert_allclose(mine.se, theirs.standard_errors_[keys].to_numpy(), rtol=COX_RTOL)
