"""Kaplan–Meier on frames small enough to check by hand."""

import math

import numpy as np
import pytest

from analytics.stats.km import curve_points, km_fit, median, median_r, median_spss, reverse_km


def test_km_survival_is_product_of_one_minus_deaths_over_at_risk():
    # 4 patients: deaths at 1 and 3, censored at 2 and 4 → S = 3/4, then 3/4 · 1/2
    fit = km_fit(np.array([1, 2, 3, 4]), np.array([1, 0, 1, 0]), "plain")
    assert fit.time.tolist() == [1, 2, 3, 4]
    assert fit.n_risk.tolist() == [4, 3, 2, 1]
    assert fit.surv.tolist() == pytest.approx([0.75, 0.75, 0.375, 0.375], rel=1e-12)


def test_greenwood_std_err_is_sqrt_of_sum_d_over_n_times_n_minus_d():
    fit = km_fit(np.array([1, 2, 3, 4]), np.array([1, 0, 1, 0]), "plain")
    # 1/(4·3) at t=1, + 1/(2·1) at t=3 (R: survfit(Surv(1:4, c(1, 0, 1, 0)) ~ 1)$std.err
    # = 0.28867513459481287, 0.28867513459481287, 0.76376261582597338, 0.76376261582597338)
    assert fit.std_err[0] == pytest.approx(math.sqrt(1 / 12), rel=1e-12)
    assert fit.std_err[2] == pytest.approx(math.sqrt(1 / 12 + 1 / 2), rel=1e-12)


def test_km_median_is_midpoint_of_flat_stretch_at_half():
    # deaths at 1, 2, 3, 4: S = .75, .5, .25, 0 → S sits at exactly 0.5 on [2, 3): median 2.5
    med, _, _ = median_r(km_fit(np.array([1.0, 2, 3, 4]), np.ones(4), "log-log"))
    assert med == 2.5


def test_km_median_is_first_time_below_half_when_curve_jumps_past_it():
    # 3 deaths: S = 2/3, 1/3 → the curve jumps over 0.5 at t = 5
    med, _, _ = median_r(km_fit(np.array([2.0, 5, 9]), np.ones(3), "log"))
    assert med == 5


def test_km_median_flat_at_half_until_last_censoring_uses_last_time():
    # deaths at 1, 2 of 4, then censored at 6 and 8: S stays 0.5 to the end → (2 + 8) / 2
    med, _, _ = median_r(km_fit(np.array([1.0, 2, 6, 8]), np.array([1, 1, 0, 0]), "plain"))
    assert med == 5


def test_km_median_not_reached_is_none():
    med, lo, hi = median(km_fit(np.array([1.0, 2, 3, 4, 5]), np.array([1, 0, 0, 0, 0])))
    assert med is None and hi is None


def test_log_log_band_is_undefined_where_survival_is_one_or_zero():
    fit = km_fit(np.array([1.0, 2, 3]), np.array([0, 1, 1]), "log-log")
    assert np.isnan(fit.lower[0]) and np.isnan(fit.lower[-1])  # S = 1 at t=1, S = 0 at t=3


def test_spss_median_interval_is_symmetric_greenwood_se_over_density():
    # 10 deaths at 1..10, no censoring: median (first S ≤ .5) = 5; S(5) = .5.
    # Greenwood: se(S(5)) = .5·sqrt(Σ_{i≤5} 1/((11−i)(10−i))) = .5·sqrt(1/5 − 1/10)
    #   = sqrt(0.025) = 0.15811388300841897
    #   (R: summary(survfit(Surv(1:10, rep(1, 10)) ~ 1), times = 5)$std.err).
    # Density: u = 4 (S = .6), l = 6 (S = .4) → f = (.6 − .4)/(6 − 4) = 0.1.
    # SE(median) = 0.15811388300841897/0.1 = 1.5811388300841897; z = qnorm(.975)
    # = 1.959963984540054; z·SE = 3.098975161522808 →
    # CI = 5 ∓ 3.098975161522808 = [1.9010248384771922, 8.098975161522809].
    fit = km_fit(np.arange(1.0, 11), np.ones(10), "spss")
    med, lo, hi = median_spss(fit)
    assert med == 5
    assert lo == pytest.approx(1.9010248384771922, rel=1e-12)
    assert hi == pytest.approx(8.098975161522809, rel=1e-12)


def test_reverse_km_flips_the_event_indicator():
    fit = reverse_km(np.array([1.0, 2, 3, 4]), np.array([1, 0, 1, 0]), "plain")
    assert fit.n_event.tolist() == [0, 1, 0, 1]


def test_curve_starts_at_one_and_reports_numbers_at_risk():
    pts = curve_points(km_fit(np.array([1.0, 2, 3, 4]), np.array([1, 0, 1, 0]), "log"))
    assert pts[0] == {"t": 0.0, "s": 1.0, "lo": 1.0, "hi": 1.0, "at_risk": 4}
    assert [(p["t"], p["at_risk"]) for p in pts[1:]] == [(1.0, 4), (3.0, 2), (4.0, 1)]


def test_curve_is_thinned_to_max_points_for_large_cohorts():
    rng = np.random.default_rng(0)
    t = rng.exponential(10, 50_000)
    pts = curve_points(km_fit(t, np.ones_like(t), "log-log"), max_points=200)
    assert len(pts) <= 202
    assert pts[-1]["s"] == 0.0
