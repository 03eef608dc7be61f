"""Log-rank test for k groups, equal to R ``survdiff(Surv(time, event) ~ group)`` (rho = 0)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .dist import chi2_sf
from .km import distinct_times


@dataclass(frozen=True)
class LogRank:
    """survdiff's result: χ², df, p, observed and expected events per group."""

    chi2: float
    df: int
    p: float
    observed: np.ndarray
    expected: np.ndarray


def logrank(time: np.ndarray, event: np.ndarray, group: np.ndarray) -> LogRank:
    """χ² = (O − E)ᵀ V⁻ (O − E) over groups with E > 0 (one dropped), as R ``survdiff``.

    At each distinct event time: E_g += d·n_g/n, V_gh += d(n−d)/(n−1) · n_g/n (δ_gh − n_h/n).
    ``group`` holds integer codes 0..k−1. p = P(χ²_df > χ²), df = (#groups with E > 0) − 1.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    group = np.asarray(group, dtype=np.int64)
    k = int(group.max()) + 1 if len(group) else 0
    ut, inv = distinct_times(time)
    u = len(ut)
    # counts per (time, group): U×k; n at risk = reverse cumulative sum over time
    flat = inv * k + group
    cnt = np.bincount(flat, minlength=u * k).reshape(u, k).astype(float)
    dth = np.bincount(flat, weights=event, minlength=u * k).reshape(u, k)
    n_g = np.cumsum(cnt[::-1], axis=0)[::-1]
    d_t = dth.sum(axis=1)
    keep = d_t > 0
    n_g, dth, d_t = n_g[keep], dth[keep], d_t[keep]
    n_t = n_g.sum(axis=1)
    frac = n_g / n_t[:, None]
    observed = dth.sum(axis=0)
    expected = (d_t[:, None] * frac).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        kk = np.where(n_t > 1, d_t * (n_t - d_t) / (n_t - 1), 0.0)
    # einsum rather than @: no OpenBLAS thread pool for a U×k by U×k product
    var = np.diag((kk[:, None] * frac).sum(axis=0)) - np.einsum(
        "ti,tj->ij", kk[:, None] * frac, frac
    )
    use = np.flatnonzero(expected > 0)
    if len(use) < 2:
        return LogRank(float("nan"), 0, float("nan"), observed, expected)
    use = use[1:]
    diff = (observed - expected)[use]
    vv = var[np.ix_(use, use)]
    stat = float(diff @ np.linalg.solve(vv, diff))
    df = len(use)
    return LogRank(stat, df, chi2_sf(stat, df), observed, expected)
