"""Proportional-hazards test of a Cox fit, equal to R survival 3.x ``cox.zph(fit)``.

Grambsch–Therneau score test as survival 3.x computes it (transform "km", terms = TRUE,
global = TRUE): each covariate x is paired with a time-varying copy g(t)·x, with
g(t) = 1 − Ŝ(t−) (the left-continuous Kaplan–Meier of all rows) centred at its mean over the
deaths, and the score test of the copies' coefficients = 0 at (β̂, 0) is computed from
U₂ = Σ_deaths g(t)(x − x̄(t)) and the information of the augmented model
[[I, Σ g·V], [Σ g·V, Σ g²·V]] (V the weighted covariance of x over the risk set, with the
fit's Efron or Breslow tie handling). A term's χ² uses U = (0, U₂ⱼ) and the rows of β and
that copy; the global χ² uses all copies.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cox import survival_arrays
from .dist import chi2_sf


@dataclass(frozen=True)
class ZphResult:
    """Per-term and global χ², df and p (cox.zph(fit)$table)."""

    chi2: np.ndarray
    p: np.ndarray
    global_chi2: float
    global_df: int
    global_p: float


def _km_left(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """1 − Ŝ(t−) at each row's time: the KM of all rows just before t (R's "km" transform)."""
    ut, inv = np.unique(time, return_inverse=True)
    total = np.bincount(inv, minlength=len(ut)).astype(float)
    d = np.bincount(inv, weights=event, minlength=len(ut))
    n_risk = np.cumsum(total[::-1])[::-1]
    surv = np.cumprod(1.0 - d / n_risk)
    before = np.concatenate(([1.0], surv[:-1]))  # S just before each distinct time
    return 1.0 - before[inv]


def cox_zph(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, ties: str = "efron"
) -> ZphResult:
    """cox.zph of the Cox fit with coefficients beta on (time, event, x); one column per term."""
    time, event, x = survival_arrays(time, event, x)
    order = np.argsort(time, kind="stable")
    time, event, x = time[order], event[order], x[order]
    n, p = x.shape
    x = x - x.mean(axis=0)  # the test is invariant to shifts of x; centring keeps exp() tame
    g = _km_left(time, event)
    g = g - g[event > 0].mean()
    eta = np.einsum("ij,j->i", x, np.asarray(beta, dtype=float))
    w = np.exp(eta - eta.max())

    new = np.empty(n, dtype=bool)
    new[:1] = True
    new[1:] = time[1:] != time[:-1]
    starts = np.flatnonzero(new)
    inv = np.cumsum(new) - 1
    dcount = np.bincount(inv, weights=event, minlength=len(starts))
    ev = np.flatnonzero(dcount > 0)
    dj = dcount[ev].astype(np.int64)
    ev_rows = starts[ev]

    wx = w[:, None] * x
    wxx = wx[:, :, None] * x[:, None, :]
    s0 = np.cumsum(w[::-1])[::-1][ev_rows]
    s1 = np.cumsum(wx[::-1], axis=0)[::-1][ev_rows]
    s2 = np.cumsum(wxx[::-1], axis=0)[::-1][ev_rows]
    dw = w * event
    u = len(starts)
    d0 = np.bincount(inv, weights=dw, minlength=u)[ev]
    d1 = np.stack([np.bincount(inv, weights=dw * x[:, a], minlength=u)[ev] for a in range(p)], 1)
    d2 = np.empty((len(ev), p, p))
    for a in range(p):
        for b in range(p):
            d2[:, a, b] = np.bincount(inv, weights=dw * x[:, a] * x[:, b], minlength=u)[ev]
    xd = np.stack([np.bincount(inv, weights=event * x[:, a], minlength=u)[ev] for a in range(p)], 1)

    # one entry per death: its event time and Efron's k/d (0 for Breslow)
    jj = np.repeat(np.arange(len(dj)), dj)
    if ties == "efron":
        first = np.repeat(np.cumsum(dj) - dj, dj)
        frac = (np.arange(len(jj)) - first) / np.repeat(dj, dj)
    else:
        frac = np.zeros(len(jj))
    denom = s0[jj] - frac * d0[jj]
    mean = (s1[jj] - frac[:, None] * d1[jj]) / denom[:, None]
    var = (s2[jj] - frac[:, None, None] * d2[jj]) / denom[:, None, None] - (
        mean[:, :, None] * mean[:, None, :]
    )
    gt = g[ev_rows][jj]  # g of each death's time

    # per event time: Σ x of its deaths − Σ of the (Efron-weighted) risk-set means
    resid = xd - np.stack(
        [np.bincount(jj, weights=mean[:, a], minlength=len(dj)) for a in range(p)], 1
    )
    u2 = np.einsum("t,ta->a", g[ev_rows], resid)
    i11 = var.sum(axis=0)
    i12 = np.einsum("k,kab->ab", gt, var)
    i22 = np.einsum("k,kab->ab", gt * gt, var)
    imat = np.block([[i11, i12], [i12, i22]])

    chi2 = np.empty(p)
    for j in range(p):
        kk = list(range(p)) + [p + j]
        vec = np.zeros(p + 1)
        vec[-1] = u2[j]
        chi2[j] = float(vec @ np.linalg.solve(imat[np.ix_(kk, kk)], vec))
    vec = np.concatenate((np.zeros(p), u2))
    global_chi2 = float(vec @ np.linalg.solve(imat, vec))
    return ZphResult(
        chi2=chi2,
        p=np.array([chi2_sf(float(c), 1) for c in chi2]),
        global_chi2=global_chi2,
        global_df=p,
        global_p=chi2_sf(global_chi2, p),
    )
