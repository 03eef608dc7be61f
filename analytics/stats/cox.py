"""Cox proportional hazards by Newton–Raphson, equal to R ``coxph(..., ties=)`` (efron/breslow).

The iteration copies survival's C routine coxfit6: start at β = 0, Newton steps, step halving
when the log partial likelihood falls, stop when |1 − ℓ_old/ℓ_new| ≤ 1e-9 (up to 20
iterations), variance = inverse information at the final β, and R's "coefficient may be
infinite" test. Rows are sorted by time once per endpoint; each Newton step is a handful of
reverse cumulative sums plus one n×p by p×p product — O(n·p²).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dist import chi2_sf, norm_ppf

EPS = 1e-9  # coxph.control(eps)
TOLER_CHOL = np.finfo(float).eps ** 0.75  # coxph.control(toler.chol)
TOLER_INF = EPS**0.5  # coxph.control(toler.inf)
MAX_ITER = 20  # coxph.control(iter.max)


@dataclass
class CoxResult:
    """A fitted Cox model: coefficients, variance, log-likelihoods, convergence diagnostics."""

    coef: np.ndarray
    se: np.ndarray
    var: np.ndarray
    loglik0: float
    loglik: float
    iterations: int
    converged: bool
    n: int
    events: int
    infinite: np.ndarray  # R's "Loglik converged before variable …; coefficient may be infinite"
    warnings: list[str] = field(default_factory=list)

    def z(self) -> np.ndarray:
        """Wald z = β / se."""
        return self.coef / self.se

    def wald_p(self) -> np.ndarray:
        """Wald p = P(χ²₁ > (β/se)²), as summary.coxph's Pr(>|z|)."""
        return np.array([chi2_sf(float(v) ** 2, 1) for v in self.z()])

    def hr_ci(self, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """exp(β), exp(β ∓ z₁₋α/₂·se), as summary(coxph)$conf.int."""
        z = norm_ppf(1 - alpha / 2)
        with np.errstate(over="ignore"):  # a diverged β is reported as a warning, not a HR
            lo, hi = np.exp(self.coef - z * self.se), np.exp(self.coef + z * self.se)
            return np.exp(self.coef), lo, hi

    def lr_test(self) -> tuple[float, int, float]:
        """Likelihood-ratio test 2(ℓ(β̂) − ℓ(0)) on p df, as summary(coxph)$logtest."""
        stat = 2.0 * (self.loglik - self.loglik0)
        df = len(self.coef)
        return stat, df, chi2_sf(stat, df)


class _Design:
    """One model's data, sorted by time, with the tie structure precomputed."""

    def __init__(
        self, time: np.ndarray, event: np.ndarray, x: np.ndarray, ties: str, presorted: bool
    ):
        if not presorted:
            order = np.argsort(time, kind="stable")
            time, event, x = time[order], event[order], x[order]
        self.t = time
        self.d = event.astype(float)
        self.x = x - x.mean(axis=0)  # centre, as coxph does (the likelihood is invariant)
        n = len(self.t)
        new = np.empty(n, dtype=bool)
        new[:1] = True
        new[1:] = self.t[1:] != self.t[:-1]
        self.starts = np.flatnonzero(new)  # first row of each distinct time
        self.inv = np.cumsum(new) - 1  # distinct-time index of each row
        u = len(self.starts)
        dcount = np.bincount(self.inv, weights=self.d, minlength=u)
        self.ev_times = np.flatnonzero(dcount > 0)  # distinct-time indices with events
        dj = dcount[self.ev_times].astype(np.int64)
        # one entry per death: its event time (index into ev_times) and Efron's k/d
        self.jj = np.repeat(np.arange(len(dj)), dj)
        if ties == "efron":
            first = np.repeat(np.cumsum(dj) - dj, dj)
            self.frac = (np.arange(len(self.jj)) - first) / np.repeat(dj, dj)
        else:
            self.frac = np.zeros(len(self.jj))
        self.u = u
        self.dx = np.einsum("i,ij->j", self.d, self.x)  # Σ over deaths of x
        self.nevent = int(dj.sum())
        self.ev_starts = self.starts[self.ev_times]  # first row of each event time
        # rows with an event and the index of their event time (for Efron's c2 term)
        ev_pos = np.full(u, -1)
        ev_pos[self.ev_times] = np.arange(len(self.ev_times))
        self.death_rows = np.flatnonzero(self.d > 0)
        self.death_ev = ev_pos[self.inv[self.death_rows]]

    def evaluate(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log partial likelihood, score and information at β (Efron or Breslow)."""
        x, d = self.x, self.d
        # einsum, never @ or np.dot: BLAS would hand these thin n×p products to OpenBLAS's
        # thread pool, whose spinning threads cost 2.5× the CPU of the work itself
        xb = np.einsum("ij,j->i", x, beta)
        shift = xb.max() if len(xb) else 0.0  # guard exp() against overflow; ℓ corrected below
        w = np.exp(xb - shift)
        wx = w[:, None] * x
        # risk-set sums at each distinct time: reverse cumulative sums read at the group start
        s0 = np.cumsum(w[::-1])[::-1][self.ev_starts]
        s1 = np.cumsum(wx[::-1], axis=0)[::-1][self.ev_starts]
        dw = w * d
        d0 = np.bincount(self.inv, weights=dw, minlength=self.u)[self.ev_times]
        p = x.shape[1]
        d1 = np.empty((len(self.ev_times), p))
        for j in range(p):
            d1[:, j] = np.bincount(self.inv, weights=dw * x[:, j], minlength=self.u)[self.ev_times]
        jj, frac = self.jj, self.frac
        denom = s0[jj] - frac * d0[jj]
        loglik = float(np.einsum("i,i->", d, xb) - np.log(denom).sum() - len(jj) * shift)
        a = (s1[jj] - frac[:, None] * d1[jj]) / denom[:, None]
        score = self.dx - a.sum(axis=0)
        # Σ_k (S2 − f_k·D2)/denom_k = Σ_i w_i x_i x_iᵀ (C1(t_i) − δ_i c2(t_i)), where
        # c1_j = Σ_k 1/denom_k, c2_j = Σ_k f_k/denom_k and C1 accumulates c1 over t_j ≤ t_i.
        ne = len(self.ev_times)
        c1 = np.bincount(jj, weights=1.0 / denom, minlength=ne)
        c2 = np.bincount(jj, weights=frac / denom, minlength=ne)
        c1_full = np.zeros(self.u)
        c1_full[self.ev_times] = c1
        weight = w * np.cumsum(c1_full)[self.inv]
        dr = self.death_rows
        weight[dr] -= w[dr] * c2[self.death_ev]
        info = np.einsum("ij,ik->jk", x, weight[:, None] * x) - np.einsum("ij,ik->jk", a, a)
        return loglik, score, info


def _chol_solve(info: np.ndarray, rhs: np.ndarray) -> np.ndarray | None:
    try:
        c = np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return None
    y = np.linalg.solve(c, rhs)
    return np.linalg.solve(c.T, y)


def survival_arrays(
    time: np.ndarray, event: np.ndarray, x: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """time, event and the covariates as float arrays, x as n × p (one column if 1-D)."""
    x = np.asarray(x, dtype=float)
    return (
        np.asarray(time, dtype=float),
        np.asarray(event, dtype=float),
        x[:, None] if x.ndim == 1 else x,
    )


def cox_fit(
    time: np.ndarray,
    event: np.ndarray,
    x: np.ndarray,
    ties: str = "efron",
    max_iter: int = MAX_ITER,
    eps: float = EPS,
    presorted: bool = False,
) -> CoxResult:
    """Cox PH fit equal to R ``coxph(Surv(time, event) ~ x, ties=ties)`` (no strata/weights).

    presorted=True skips the sort when time is already ascending (the bundle sorts once).
    Newton–Raphson from β = 0 on the Efron (or Breslow) log partial likelihood
    ℓ = Σ_deaths xβ − Σ_j Σ_{k<d_j} log(S0_j − (k/d_j)·D0_j); var = I(β̂)⁻¹.
    """
    time, event, x = survival_arrays(time, event, x)
    p = x.shape[1]
    des = _Design(time, event, x, ties, presorted)
    beta = np.zeros(p)
    loglik, u, info = des.evaluate(beta)
    loglik0 = loglik
    warnings: list[str] = []
    if des.nevent == 0:
        nan = np.full(p, np.nan)
        return CoxResult(
            nan,
            nan,
            np.full((p, p), np.nan),
            loglik0,
            loglik0,
            0,
            False,
            len(time),
            0,
            np.zeros(p, dtype=bool),
            ["no events"],
        )
    step = _chol_solve(info, u)
    if step is None:
        nan = np.full(p, np.nan)
        return CoxResult(
            nan,
            nan,
            np.full((p, p), np.nan),
            loglik0,
            loglik0,
            0,
            False,
            len(time),
            des.nevent,
            np.zeros(p, dtype=bool),
            ["singular information matrix (a covariate is constant or collinear)"],
        )
    newbeta = beta + step
    halving = 0
    converged = False
    it = 0
    newlk, nu, ninfo = loglik, u, info
    for it in range(1, max_iter + 1):
        newlk, nu, ninfo = des.evaluate(newbeta)
        if abs(1 - loglik / newlk) <= eps and halving == 0:
            converged = True
            break
        if it == max_iter:
            break
        if not np.isfinite(newlk) or newlk < loglik:
            halving += 1
            newbeta = (newbeta + beta) / 2
        else:
            halving = 0
            loglik = newlk
            step = _chol_solve(ninfo, nu)
            if step is None:
                break
            beta = newbeta
            newbeta = newbeta + step
    final = newbeta
    try:
        var = np.linalg.inv(ninfo)
    except np.linalg.LinAlgError:
        var = np.full((p, p), np.nan)
    if not converged:
        warnings.append(f"did not converge in {max_iter} iterations")
    se = np.sqrt(np.diag(var)) if np.all(np.diag(var) > 0) else np.full(p, np.nan)
    infs = np.abs(nu @ var)
    infinite = (infs > eps) & (infs > TOLER_INF * np.abs(final)) if converged else np.zeros(p, bool)
    return CoxResult(
        final, se, var, loglik0, newlk, it, converged, len(time), des.nevent, infinite, warnings
    )
