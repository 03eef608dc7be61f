"""Cox and log-rank on data small enough to check by hand, or against R on the same data.

R values: R 4.2.2, survival 3.5-3, printed with sprintf("%.17g", …); the R call is next to
each number. Hand values have their arithmetic in a comment.
"""

import math

import numpy as np
import pytest

from analytics.stats.cox import cox_fit
from analytics.stats.dist import chi2_sf, norm_ppf
from analytics.stats.logrank import logrank

# Three groups of five, with deaths tied across groups at t = 3 and t = 6.
LR3_T = np.array([1.0, 3, 4, 6, 9, 2, 3, 7, 8, 12, 3, 6, 10, 13, 15])
LR3_E = np.array([1, 1, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 0])
LR3_G = np.repeat([0, 1, 2], 5)

# Twenty deaths at t = 1..20, x alternating 1, 0 (no ties).
CI_T = np.arange(1.0, 21)
CI_E = np.ones(20)
CI_X = np.tile([1.0, 0], 10)

# Twelve patients, every death in x = 1 (deaths at t = 1..5 and 11): monotone likelihood.
SEP_T = np.arange(1.0, 13)
SEP_X = np.array([1.0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 1, 0])
SEP_E = SEP_X.copy()


def test_logrank_two_groups_by_hand():
    # group 0 dies at 1, 2; group 1 dies at 3, 4; one death per time, so
    # E0 += n0/n and V += n0·n1·d(n−d)/(n²(n−1)) = n0·n1/n² at each death:
    #   t=1: n0=2, n1=2 → E0 += 2/4, V += 4/16;  t=2: n0=1, n1=2 → E0 += 1/3, V += 2/9;
    #   t=3, t=4: n0=0 → nothing.
    # E0 = 5/6, V = 1/4 + 2/9 = 17/36, O0 = 2 → χ² = (2 − 5/6)² / (17/36) = 49/17.
    # R: survdiff(Surv(c(1, 2, 3, 4), rep(1, 4)) ~ c(0, 0, 1, 1)) → chisq 2.8823529411764697
    lr = logrank(np.array([1.0, 2, 3, 4]), np.ones(4), np.array([0, 0, 1, 1]))
    assert lr.expected[0] == pytest.approx(5 / 6, rel=1e-12)
    assert lr.chi2 == pytest.approx(49 / 17, rel=1e-12)
    assert lr.df == 1


def test_logrank_three_groups_has_two_df():
    assert logrank(LR3_T, LR3_E, LR3_G).df == 2


def test_logrank_three_groups_chi2_and_p_equal_survdiff():
    # R: sd <- survdiff(Surv(t, e) ~ g) on LR3_T, LR3_E, LR3_G
    #    sd$chisq = 2.5998221036458693; pchisq(sd$chisq, 2, lower.tail = FALSE)
    #    = 0.27255603531833283 (= exp(−χ²/2), the closed form for 2 df)
    lr = logrank(LR3_T, LR3_E, LR3_G)
    assert lr.chi2 == pytest.approx(2.5998221036458693, rel=1e-9)
    assert lr.p == pytest.approx(0.27255603531833283, rel=1e-9)


def test_logrank_three_groups_expected_events_equal_survdiff():
    # R: survdiff(Surv(t, e) ~ g)$exp on LR3_T, LR3_E, LR3_G
    lr = logrank(LR3_T, LR3_E, LR3_G)
    assert lr.observed.tolist() == [4, 3, 3]
    assert lr.expected.tolist() == pytest.approx(
        [2.1884004884004886, 2.9344322344322347, 4.8771672771672767], rel=1e-12
    )


def test_cox_null_loglik_is_minus_sum_of_log_risk_set_sizes():
    # deaths at t=1 (3 at risk) and t=3 (1 at risk): ℓ(0) = −log 3 − log 1
    # R: coxph(Surv(c(1, 2, 3), c(1, 0, 1)) ~ c(1, 0, 0))$loglik[1] = -1.0986122886681098
    res = cox_fit(np.array([1.0, 2, 3]), np.array([1, 0, 1]), np.array([1.0, 0, 0]))
    assert res.loglik0 == pytest.approx(-math.log(3), rel=1e-12)


@pytest.mark.parametrize(
    ("ties", "by_hand"),
    [
        # Efron: the d tied deaths at a time leave the risk set one by one, n, n−1, …, n−d+1,
        # so with all 8 dying: −log(8·7·6·5·4·3·2·1) = −log 8! = −10.604602902745251
        ("efron", -math.log(math.factorial(8))),
        # Breslow: each of the d deaths divides by the whole risk set n: deaths 3, 2, 2, 1
        # at n = 8, 5, 3, 1 → −(3 log 8 + 2 log 5 + 2 log 3 + log 1) = −11.654425027243928
        ("breslow", -(3 * math.log(8) + 2 * math.log(5) + 2 * math.log(3))),
    ],
)
def test_cox_null_loglik_with_tied_deaths_by_hand(ties, by_hand):
    # R: coxph(Surv(t, rep(1, 8)) ~ x, ties = …)$loglik[1] gives the same two numbers
    t = np.array([1.0, 1, 1, 2, 2, 3, 3, 4])
    x = np.array([1.0, 0, 1, 1, 0, 0, 1, 0])
    assert cox_fit(t, np.ones(8), x, ties=ties).loglik0 == pytest.approx(by_hand, rel=1e-12)


def test_cox_no_ties_efron_and_breslow_both_equal_coxph():
    # R: coxph(Surv(1:8, c(1, 1, 0, 1, 1, 0, 1, 1)) ~ c(1, 0, 1, 1, 0, 0, 1, 0), ties = "efron")
    #    and ties = "breslow" both give coef 0.77515645035156744
    t = np.array([1.0, 2, 3, 4, 5, 6, 7, 8])
    e = np.array([1, 1, 0, 1, 1, 0, 1, 1])
    x = np.array([1.0, 0, 1, 1, 0, 0, 1, 0])
    assert cox_fit(t, e, x, ties="efron").coef[0] == pytest.approx(0.77515645035156744, rel=1e-9)
    assert cox_fit(t, e, x, ties="breslow").coef[0] == pytest.approx(0.77515645035156744, rel=1e-9)


@pytest.mark.parametrize(
    ("ties", "r_coef"),
    [("efron", 0.72668102028093884), ("breslow", 0.60750671774231424)],
)
def test_cox_tied_times_coef_equals_coxph_with_the_same_ties(ties, r_coef):
    # R: coef(coxph(Surv(c(1, 1, 1, 2, 2, 3, 3, 4), rep(1, 8)) ~ c(1, 0, 1, 1, 0, 0, 1, 0),
    #               ties = ties)); the two methods differ by 0.12 on these ties
    t = np.array([1.0, 1, 1, 2, 2, 3, 3, 4])
    x = np.array([1.0, 0, 1, 1, 0, 0, 1, 0])
    assert cox_fit(t, np.ones(8), x, ties=ties).coef[0] == pytest.approx(r_coef, rel=1e-9)


def test_cox_hr_and_95_ci_equal_coxph_conf_int():
    # R: summary(coxph(Surv(1:20, rep(1, 20)) ~ rep(c(1, 0), 10)))$conf.int
    #    exp(coef) 1.2542223971718951, lower .95 0.50787077361921151, upper .95 3.0973899331861632
    hr, lo, hi = cox_fit(CI_T, CI_E, CI_X).hr_ci(0.05)
    assert hr[0] == pytest.approx(1.2542223971718951, rel=1e-9)
    assert lo[0] == pytest.approx(0.50787077361921151, rel=1e-9)
    assert hi[0] == pytest.approx(3.0973899331861632, rel=1e-9)


def test_cox_hr_ci_alpha_sets_the_confidence_level():
    # R: summary(coxph(Surv(1:20, rep(1, 20)) ~ rep(c(1, 0), 10)), conf.int = 0.90)$conf.int
    #    lower .9 0.58732210189648104, upper .9 2.6783834909125868
    _, lo, hi = cox_fit(CI_T, CI_E, CI_X).hr_ci(0.10)
    assert lo[0] == pytest.approx(0.58732210189648104, rel=1e-9)
    assert hi[0] == pytest.approx(2.6783834909125868, rel=1e-9)


def test_cox_wald_p_equals_coxph_pr_z():
    # R: summary(coxph(Surv(1:20, rep(1, 20)) ~ rep(c(1, 0), 10)))$coefficients[, "Pr(>|z|)"]
    #    = 0.62336609145089639
    assert cox_fit(CI_T, CI_E, CI_X).wald_p()[0] == pytest.approx(0.62336609145089639, rel=1e-9)


def test_cox_flags_coefficient_running_off_when_one_group_has_all_events():
    # R: coxph(Surv(SEP_T, SEP_E) ~ SEP_X) warns "Loglik converged before variable 1;
    #    coefficient may be infinite."
    assert cox_fit(SEP_T, SEP_E, SEP_X).infinite[0]


def test_cox_separated_fit_stops_at_the_coefficient_coxph_stops_at():
    # R: coef(coxph(Surv(SEP_T, SEP_E) ~ SEP_X)) = 21.76637566941945 (after 20 iterations,
    #    with the warning above); the bundle shows this diverged value in its diagnostics
    assert cox_fit(SEP_T, SEP_E, SEP_X).coef[0] == pytest.approx(21.76637566941945, rel=1e-6)


def test_cox_separated_fit_loglik_reaches_its_supremum_minus_log_720():
    # As β → ∞ each death (all in x = 1) contributes −log(#x=1 at risk): at t = 1, 2, 3, 4,
    # 5, 11 that is 6, 5, 4, 3, 2, 1 → sup ℓ = −log 6! = −log 720 = −6.5792512120101012.
    # At β ≈ 21.77 the gap is Σ log(1 + e^−β·#x=0 at risk / #x=1 at risk)
    # ≈ 3.53e−10 · (6/6 + 6/5 + 6/4 + 6/3 + 6/2 + 1/1) = 3.53e−10 · 9.7 ≈ 3.4e−9, so
    # abs=1e-8; a fit that stopped at β = 10 would be ≈ 4.4e−4 short and fail.
    # R: coxph(Surv(SEP_T, SEP_E) ~ SEP_X)$loglik[2] = -6.5792512154279699
    assert cox_fit(SEP_T, SEP_E, SEP_X).loglik == pytest.approx(-math.log(720), abs=1e-8)


def test_chi2_sf_matches_closed_forms():
    # 3.841458820694124 = R qchisq(0.95, 1); for 2 df the tail is exp(−x/2)
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, rel=1e-12)
    assert chi2_sf(2.0, 2) == pytest.approx(math.exp(-1.0), rel=1e-14)
    assert chi2_sf(0.0, 3) == 1.0


def test_distribution_functions_equal_scipy_to_full_precision():
    # scipy (requirements-dev.txt) is a second, independent implementation
    from scipy.stats import chi2, norm

    for df in range(1, 14):
        for x in (1e-6, 0.3, 1.0, 3.84, 12.0, 60.0, 300.0):
            assert chi2_sf(x, df) == pytest.approx(chi2.sf(x, df), rel=1e-12), (x, df)
    for p in (0.5, 0.9, 0.95, 0.975, 0.995):
        assert norm_ppf(p) == pytest.approx(norm.ppf(p), rel=1e-14)
