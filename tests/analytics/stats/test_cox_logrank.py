"""Cox and log-rank on hand-checkable data."""

import math

import numpy as np
import pytest

from analytics.stats.cox import cox_fit
from analytics.stats.dist import chi2_sf, norm_ppf
from analytics.stats.logrank import logrank


def test_logrank_two_groups_by_hand():
    # group 0 dies at 1, 2; group 1 dies at 3, 4 (all 4 at risk at t=1)
    # E0 = 2/4 + 1/3 + 0 + 0 = 5/6; O0 = 2; V = 1/4·(1·3/3)... computed below in closed form
    t = np.array([1.0, 2, 3, 4])
    e = np.ones(4)
    g = np.array([0, 0, 1, 1])
    lr = logrank(t, e, g)
    # per time (n0, n1): (2,2) d=1, (1,2) d=1, (0,2) d=1, (0,1) d=1
    e0 = 2 / 4 + 1 / 3
    v = (2 * 2) / 16 + (1 * 2) / 9  # d(n−d)/(n−1)·n0 n1/n² with d = 1
    assert lr.expected[0] == pytest.approx(e0)
    assert lr.chi2 == pytest.approx((2 - e0) ** 2 / v)
    assert lr.df == 1


def test_logrank_k_groups_has_k_minus_one_df():
    rng = np.random.default_rng(1)
    t = rng.exponential(5, 60)
    lr = logrank(t, np.ones(60), np.repeat([0, 1, 2], 20))
    assert lr.df == 2
    assert lr.p == pytest.approx(chi2_sf(lr.chi2, 2))


def test_cox_null_loglik_is_minus_sum_of_log_risk_set_sizes():
    # deaths at t=1 (3 at risk) and t=3 (1 at risk): ℓ(0) = −log 3 − log 1
    res = cox_fit(np.array([1.0, 2, 3]), np.array([1, 0, 1]), np.array([1.0, 0, 0]))
    assert res.loglik0 == pytest.approx(-math.log(3))


def test_cox_no_ties_efron_equals_breslow():
    t = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    e = np.array([1, 1, 0, 1, 1, 0, 1, 1])
    x = np.array([1.0, 0, 1, 1, 0, 0, 1, 0])
    a = cox_fit(t, e, x, ties="efron")
    b = cox_fit(t, e, x, ties="breslow")
    assert a.coef[0] == pytest.approx(b.coef[0], rel=1e-12)


def test_cox_ties_efron_differs_from_breslow():
    t = np.array([1.0, 1, 1, 2, 2, 3, 3, 4])
    e = np.ones(8)
    x = np.array([1.0, 0, 1, 1, 0, 0, 1, 0])
    assert cox_fit(t, e, x, ties="efron").coef[0] != cox_fit(t, e, x, ties="breslow").coef[0]


def test_cox_hr_ci_is_exp_coef_plus_minus_z_se():
    t = np.arange(1.0, 21)
    x = np.tile([1.0, 0], 10)
    e = np.ones(20)
    res = cox_fit(t, e, x)
    hr, lo, hi = res.hr_ci(0.05)
    z = norm_ppf(0.975)
    assert hr[0] == pytest.approx(math.exp(res.coef[0]))
    assert lo[0] == pytest.approx(math.exp(res.coef[0] - z * res.se[0]))
    assert hi[0] == pytest.approx(math.exp(res.coef[0] + z * res.se[0]))


def test_cox_flags_coefficient_running_off_when_one_group_has_all_events():
    t = np.arange(1.0, 13)
    x = np.array([1.0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0])
    e = x.copy()
    res = cox_fit(t, e, x)
    assert res.infinite[0]
    assert res.coef[0] > 5


def test_chi2_sf_matches_closed_forms():
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-12)
    assert chi2_sf(2.0, 2) == pytest.approx(math.exp(-1.0), rel=1e-14)
    assert chi2_sf(0.0, 3) == 1.0


def test_distribution_functions_equal_scipy_to_full_precision():
    from scipy.stats import chi2, norm

    for df in range(1, 14):
        for x in (1e-6, 0.3, 1.0, 3.84, 12.0, 60.0, 300.0):
            assert chi2_sf(x, df) == pytest.approx(chi2.sf(x, df), rel=1e-12), (x, df)
    for p in (0.5, 0.9, 0.95, 0.975, 0.995):
        assert norm_ppf(p) == pytest.approx(norm.ppf(p), rel=1e-14)
