"""Proportional-hazards test of a Cox fit, equal to R survival 3.x ``cox.zph(fit)``.

Grambsch–Therneau score test as survival 3.x computes it (transform "km", terms = TRUE,
global = TRUE): each covariate x is paired with a time-varying copy g(t)·x, with
g(t) = 1 − Ŝ(t−) (the left-continuous Kaplan–Meier of all rows) centred at its mean over the
deaths, and the score test of the copies' coefficients = 0 at (β̂, 0) is computed from
U₂ = Σ_deaths g(t)(x − x̄(t)) and the information of the augmented model
[[I, Σ g·V], [Σ g·V, Σ g²·V]] (V the weighted covariance of x over the risk set, with the
fit's Efron or Breslow tie handling). A term's χ² uses U = (0, U₂ⱼ) and the rows of β and
that copy; the global χ² uses all copies. The sums come from the fit's own collapsed data
(``cox.CoxDesign``), so a fit and its test sort and group the rows once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cox import CoxDesign, CoxResult, survival_arrays
from .dist import chi2_sf


@dataclass(frozen=True)
class ZphResult:
    """Per-term and global χ², df and p (cox.zph(fit)$table)."""

    chi2: np.ndarray
    p: np.ndarray
    global_chi2: float
    global_df: int
    global_p: float


def _km_left(des: CoxDesign) -> np.ndarray:
    """1 − Ŝ(t−) at each distinct time: the KM of all rows just before t (R's "km" transform)."""
    n_risk = np.cumsum(des.total[::-1])[::-1]
    surv = np.cumprod(1.0 - des.dcount / n_risk)
    before = np.concatenate(([1.0], surv[:-1]))  # S just before each distinct time
    return 1.0 - before


def cox_zph(
    time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, ties: str = "efron"
) -> ZphResult:
    """cox.zph of the Cox fit with coefficients beta on (time, event, x); one column per term."""
    time, event, x = survival_arrays(time, event, x)
    return _zph(CoxDesign(time, event, x, ties, presorted=False), np.asarray(beta, dtype=float))


def zph_of_fit(fit: CoxResult) -> ZphResult:
    """cox.zph of a fit from ``cox_fit``, on the fit's own sorted, collapsed data."""
    if fit.design is None:
        raise ValueError("the fit carries no design (it was not made by cox_fit)")
    return _zph(fit.design, fit.coef)


def _zph(des: CoxDesign, beta: np.ndarray) -> ZphResult:
    """The score test of the time-varying copies at (β̂, 0) from the design's sums at β̂.

    Every per-death sum is Σ_k h_k·(…) with h = 1, g or g² constant within an event time, so
    it is a per-time sum of Efron's 1/den, f/den, … (``_RiskSums``) times S1, D1 (per time)
    or, for the S2/D2 terms, one weighted Σ x·xᵀ over the cells: no death × p × p array.
    """
    p = len(beta)
    sums = des.sums(beta)
    g = _km_left(des)[des.ev]  # g at each event time
    dj = des.dj.astype(float)
    g = g - np.einsum("t,t->", dj, g) / des.nevent  # centred at its mean over the deaths

    # per event time: Σ x of its deaths − Σ of the (Efron-weighted) risk-set means
    xd = des.per_time(des.deaths[:, None] * des.x)[des.ev]
    resid = xd - (sums.s1 * sums.c1[:, None] - sums.d1 * sums.c2[:, None])
    u2 = np.einsum("t,ta->a", g, resid)

    def information(h: np.ndarray | None) -> np.ndarray:
        """Σ_k h_k·var_k, var_k the k-th death's risk-set covariance of x."""
        return des.weighted_outer(des.cell_weights(sums, h)) - des.mean_outer(sums, h)

    i11 = information(None)
    i12 = information(g)
    i22 = information(g * g)
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
