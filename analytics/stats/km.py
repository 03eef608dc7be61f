"""Kaplan–Meier estimation equal to R survival's ``survfit`` (KM, Greenwood variance).

Everything is vectorised over the sorted unique times: one ``np.unique`` (a sort) and a few
cumulative sums, so a 100,000-row endpoint costs milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dist import norm_ppf

CONF_TYPES = ("log-log", "log", "plain", "spss")

# R's quantile.survfit tolerance: sqrt(.Machine$double.eps).
_R_TOL = float(np.sqrt(np.finfo(float).eps))


@dataclass(frozen=True)
class KMFit:
    """A fitted KM curve at every distinct time (event or censoring), like a survfit object."""

    time: np.ndarray  # distinct times, ascending
    n_risk: np.ndarray  # at risk just before each time
    n_event: np.ndarray
    n_censor: np.ndarray
    surv: np.ndarray  # S(t), right-continuous
    std_err: np.ndarray  # standard error of log S(t) (R's survfit std.err), Greenwood
    lower: np.ndarray  # pointwise band; NaN where R gives NA
    upper: np.ndarray
    conf_type: str
    alpha: float

    @property
    def n(self) -> int:
        """Patients in the fit (at risk at the first time)."""
        return int(self.n_risk[0]) if len(self.n_risk) else 0

    @property
    def events(self) -> int:
        """Number of events."""
        return int(self.n_event.sum())


def confint(surv: np.ndarray, std_err: np.ndarray, conf_type: str, alpha: float = 0.05):
    """Pointwise band; equals R ``survival:::survfit_confint(p, se, logse=TRUE, conf.type)``.

    plain: S ± z·se·S (clipped to [0, 1]); log: exp(log S ± z·se) (upper ≤ 1);
    log-log: exp(-exp(log(-log S) ∓ z·se/log S)). "spss" uses the plain band for the curve.
    """
    z = norm_ppf(1 - alpha / 2)
    p = np.asarray(surv, dtype=float)
    se = np.asarray(std_err, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if conf_type in ("plain", "spss"):
            se2 = se * p * z
            return np.maximum(p - se2, 0.0), np.minimum(p + se2, 1.0)
        if conf_type == "log":
            xx = np.where(p == 0, np.nan, p)
            se2 = z * se
            return np.exp(np.log(xx) - se2), np.minimum(np.exp(np.log(xx) + se2), 1.0)
        if conf_type == "log-log":
            xx = np.where((p == 0) | (p == 1), np.nan, p)
            se2 = z * se / np.log(xx)
            lower = np.exp(-np.exp(np.log(-np.log(xx)) - se2))
            upper = np.exp(-np.exp(np.log(-np.log(xx)) + se2))
            return lower, upper
    raise ValueError(f"unknown conf_type {conf_type!r}")


def distinct_times(time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(time, return_inverse=True)``, without its sort when time is ascending
    already (the bundle sorts each endpoint once; at 1,000,000 rows a sort per curve and
    per log-rank test was most of their cost)."""
    if len(time) < 2 or not np.all(time[1:] >= time[:-1]):
        return np.unique(time, return_inverse=True)
    new = np.empty(len(time), dtype=bool)
    new[0] = True
    np.not_equal(time[1:], time[:-1], out=new[1:])
    return time[new], np.cumsum(new) - 1


def km_fit(
    time: np.ndarray, event: np.ndarray, conf_type: str = "log-log", alpha: float = 0.05
) -> KMFit:
    """Product-limit estimate S(t) = Π(1 − d/n); equals R ``survfit(Surv(time, event) ~ 1)``.

    std_err is Greenwood's se of log S: sqrt(Σ d / (n (n − d))) (Inf once n = d, as in R).
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    ut, inv = distinct_times(time)
    total = np.bincount(inv, minlength=len(ut)).astype(float)
    d = np.bincount(inv, weights=event, minlength=len(ut))
    n_risk = np.cumsum(total[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        surv = np.cumprod(1.0 - d / n_risk)
        inc = np.where(d > 0, d / (n_risk * (n_risk - d)), 0.0)
    std_err = np.sqrt(np.cumsum(inc))
    lower, upper = confint(surv, std_err, conf_type, alpha)
    return KMFit(ut, n_risk, d, total - d, surv, std_err, lower, upper, conf_type, alpha)


def _findq(x: np.ndarray, y: np.ndarray, p: float, tol: float = _R_TOL) -> float:
    """R ``findq`` inside ``quantile.survfit``: time where the cdf y = 1 − S first reaches p.

    If y sits at p (within tol) over a flat stretch the answer is the stretch's midpoint,
    or the midpoint with the last time when the stretch runs to the end. NaN = R's NA.
    """
    if np.all(np.isnan(y)) or np.nanmax(y) < p:
        return float("nan")
    xmax = x[-1]
    keep = ~pd.Series(y).duplicated().to_numpy()  # NaN counts as a duplicate of NaN, like R
    x, y = x[keep], y[keep]
    valid = np.flatnonzero(~np.isnan(y))
    order = valid[np.argsort(y[valid], kind="stable")]  # approx() sorts its knots by x
    ys = y[order]

    def first_at_least(shift: float) -> int | None:
        # approx(y + shift, 1:n, p, "constant", f = 1): first knot with y + shift >= p,
        # NA when p lies outside the knots' range.
        knots = ys + shift
        if p < knots[0] or p > knots[-1]:
            return None
        return int(order[np.searchsorted(knots, p, side="left")])

    i1 = first_at_least(tol)
    i2 = first_at_least(-tol)
    quant = float("nan") if i1 is None or i2 is None else (x[i1] + x[i2]) / 2
    if not np.isnan(y[-1]) and abs(p - y[-1]) < tol and i1 is not None:
        quant = (x[i1] + xmax) / 2
    return float(quant)


def _none_if_nan(v: float) -> float | None:
    return None if v is None or not np.isfinite(v) else float(v)


def median_r(fit: KMFit) -> tuple[float | None, float | None, float | None]:
    """Median and its CI; equals R ``quantile(survfit(...), 0.5)`` (the printed median/LCL/UCL)."""
    x = np.concatenate(([0.0], fit.time))
    med = _findq(x, np.concatenate(([0.0], 1 - fit.surv)), 0.5)
    lo = _findq(x, np.concatenate(([0.0], 1 - fit.lower)), 0.5)
    hi = _findq(x, np.concatenate(([0.0], 1 - fit.upper)), 0.5)
    return _none_if_nan(med), _none_if_nan(lo), _none_if_nan(hi)


def median_spss(fit: KMFit) -> tuple[float | None, float | None, float | None]:
    """SPSS-style median t̂ = min{t: S(t) ≤ 0.5} with CI t̂ ± z·SE, SE = se(Ŝ(t̂)) / f̂.

    se(Ŝ) is Greenwood's (S · std_err); the density f̂ = (Ŝ(u) − Ŝ(l)) / (l − u) with
    u = max{event t: Ŝ(t) ≥ 0.55} (0 when none) and l = min{event t: Ŝ(t) ≤ 0.45}
    (Collett 2015, §2.4; the 45th–55th percentile rule of the contract). The interval is
    symmetric and not clipped, as SPSS prints it; null when l does not exist.
    """
    ev = fit.n_event > 0
    t, s = fit.time[ev], fit.surv[ev]
    reached = np.flatnonzero(s <= 0.5 + 1e-12)
    if len(reached) == 0:
        return None, None, None
    i = reached[0]
    med = float(t[i])
    se_s = float(s[i] * fit.std_err[ev][i])
    upper_idx = np.flatnonzero(s >= 0.55 - 1e-12)
    u, su = (float(t[upper_idx[-1]]), float(s[upper_idx[-1]])) if len(upper_idx) else (0.0, 1.0)
    lower_idx = np.flatnonzero(s <= 0.45 + 1e-12)
    if len(lower_idx) == 0 or not np.isfinite(se_s):
        return med, None, None
    l_t, sl = float(t[lower_idx[0]]), float(s[lower_idx[0]])
    f = (su - sl) / (l_t - u)
    z = norm_ppf(1 - fit.alpha / 2)
    half = z * se_s / f
    return med, med - half, med + half


def median(fit: KMFit) -> tuple[float | None, float | None, float | None]:
    """Median and CI by the fit's conf_type: R's rule, or SPSS's for "spss"."""
    return median_spss(fit) if fit.conf_type == "spss" else median_r(fit)


def curve_points(fit: KMFit, max_points: int = 1000) -> list[dict]:
    """Step-curve vertices for a plot: t=0, every time the curve drops, and the last time.

    Each point: t, s, lo, hi (the band, null where R gives NA) and at_risk (n at risk just
    before t; the last point's at_risk is the number still followed at the last time).
    Beyond max_points drops, points are thinned so that s changes by < 1/max_points between
    kept vertices (the plot is unchanged at screen resolution).
    """
    n = fit.n
    pts_idx = np.flatnonzero(fit.n_event > 0)
    if len(fit.time) and (len(pts_idx) == 0 or pts_idx[-1] != len(fit.time) - 1):
        pts_idx = np.append(pts_idx, len(fit.time) - 1)
    if len(pts_idx) > max_points:
        bucket = np.floor((1.0 - fit.surv[pts_idx]) * max_points)
        keep = np.concatenate(([True], bucket[1:] != bucket[:-1]))
        keep[-1] = True
        pts_idx = pts_idx[keep]
    t = fit.time[pts_idx]
    s = fit.surv[pts_idx]
    lo = fit.lower[pts_idx]
    hi = fit.upper[pts_idx]
    ar = fit.n_risk[pts_idx]
    out = [{"t": 0.0, "s": 1.0, "lo": 1.0, "hi": 1.0, "at_risk": n}]
    for ti, si, li, hi_, ai in zip(
        t.tolist(), s.tolist(), lo.tolist(), hi.tolist(), ar.tolist(), strict=True
    ):
        out.append(
            {
                "t": ti,
                "s": si,
                "lo": li if li == li else None,  # NaN → null
                "hi": hi_ if hi_ == hi_ else None,
                "at_risk": int(ai),
            }
        )
    return out


def at_risk_table(fit: KMFit, step: float) -> list[dict]:
    """Numbers at risk at t = 0, step, 2·step, … (R: summary(fit, times=…)$n.risk)."""
    if not len(fit.time):
        return []
    grid = np.arange(0.0, fit.time[-1] + step / 2, step)
    # n at risk at t = number with time >= t
    idx = np.searchsorted(fit.time, grid, side="left")
    n_at = np.concatenate((fit.n_risk, [0.0]))[idx]
    return [{"t": float(g), "n": int(v)} for g, v in zip(grid, n_at, strict=True)]


def reverse_km(time: np.ndarray, event: np.ndarray, conf_type: str, alpha: float = 0.05) -> KMFit:
    """Reverse KM for follow-up: R ``survfit(Surv(time, 1 - event) ~ 1)``."""
    return km_fit(time, 1.0 - np.asarray(event, dtype=float), conf_type, alpha)


def rmst(fit: KMFit, tau: float) -> tuple[float, float]:
    """Restricted mean survival time to tau and its standard error.

    Equals R ``summary(survfit(Surv(t, e) ~ 1), rmean = tau)$table[c("rmean", "se(rmean)")]``
    (survival:::survmean): the area under Ŝ from 0 to tau as rectangles, and
    var = Σ_{t_i ≤ tau} A_i² · d_i / (n_i (n_i − d_i)), A_i the area from t_i to tau
    (0 where n_i = d_i). Beyond the last time the curve is carried at its last value.
    """
    keep = np.flatnonzero(fit.time <= tau)
    with np.errstate(divide="ignore", invalid="ignore"):
        hh = np.where(
            fit.n_risk - fit.n_event == 0,
            0.0,
            fit.n_event / (fit.n_risk * (fit.n_risk - fit.n_event)),
        )
    if len(keep) == 0:
        temptime, tempsurv, h = np.array([tau]), np.array([1.0]), np.array([0.0])
    else:
        temptime = np.append(fit.time[keep], tau)
        tempsurv = np.append(fit.surv[keep], fit.surv[keep[-1]])
        h = np.append(hh[keep], 0.0)
    start = min(0.0, float(fit.time[0])) if len(fit.time) else 0.0
    delta = np.diff(np.concatenate(([start], temptime)))
    rectangles = delta * np.concatenate(([1.0], tempsurv[:-1]))
    var = float(np.sum(np.cumsum(rectangles[1:][::-1]) ** 2 * h[::-1][1:]))
    return float(rectangles.sum() + start), math.sqrt(var)
