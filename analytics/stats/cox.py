"""Cox proportional hazards by Newton–Raphson, equal to R ``coxph(..., ties=)`` (efron/breslow).

The iteration copies survival's C routine coxfit6: start at β = 0, Newton steps, step halving
when the log partial likelihood falls, stop when |1 − ℓ_old/ℓ_new| ≤ 1e-9 (up to 20
iterations), variance = inverse information at the final β, and R's "coefficient may be
infinite" test. Rows are sorted by time once per endpoint and collapsed into cells of equal
time and covariate pattern; each Newton step is a few sums per distinct time and one pass over
the deaths (Efron's k/d terms) — O(cells·p + deaths + times·p²), never O(n·p²) per step.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .dist import chi2_sf, norm_ppf

EPS = 1e-9  # coxph.control(eps)
TOLER_CHOL = np.finfo(float).eps ** 0.75  # coxph.control(toler.chol)
TOLER_INF = EPS**0.5  # coxph.control(toler.inf)
MAX_ITER = 20  # coxph.control(iter.max)
# Binary covariates are collapsed by pattern (2^p codes) up to this many columns.
_MAX_PATTERN_BITS = 16


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
    # the fit's sorted, collapsed data: cox.zph of this fit reuses it (zph.zph_of_fit)
    design: CoxDesign | None = field(default=None, repr=False, compare=False)

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


@dataclass(frozen=True)
class _RiskSums:
    """A design's sums at one β: per cell η and w = e^(η − shift); per event time the
    risk-set sums S0, S1, the tied deaths' D0, D1, and Efron's per-time sums over its deaths
    of 1/den, f/den, 1/den², f/den², f²/den² (den_k = S0 − f_k·D0, f_k = k/d)."""

    eta: np.ndarray
    shift: float
    w: np.ndarray
    s0: np.ndarray
    s1: np.ndarray
    d0: np.ndarray
    d1: np.ndarray
    log_den: float  # Σ over deaths of log den_k
    c1: np.ndarray
    c2: np.ndarray
    e0: np.ndarray
    e1: np.ndarray
    e2: np.ndarray


class CoxDesign:
    """One model's data, sorted by time and collapsed into cells of equal time and covariates.

    Binary covariates (every plan covariate is 0/1) make rows with the same time and the same
    covariate pattern interchangeable: the likelihood depends on each cell's row count nᶜ and
    death count dᶜ only. At 1,000,000 patients with ~1,500 distinct times a univariate fit
    has ~3,000 cells, so a Newton step costs a pass over the deaths (Efron's per-death
    terms), not over the rows. Other covariates keep one cell per row.
    """

    def __init__(
        self, time: np.ndarray, event: np.ndarray, x: np.ndarray, ties: str, presorted: bool
    ):
        if not presorted:
            order = np.argsort(time, kind="stable")
            time, event, x = time[order], event[order], x[order]
        n, p = x.shape
        new = np.empty(n, dtype=bool)
        new[:1] = True
        new[1:] = time[1:] != time[:-1]
        inv = np.cumsum(new) - 1  # distinct-time index of each row
        u = int(inv[-1]) + 1 if n else 0
        event = event.astype(float)
        if 0 < p <= _MAX_PATTERN_BITS and np.all((x == 0) | (x == 1)):
            width = 1 << p
            code = np.einsum("ij,j->i", x, 2.0 ** np.arange(p)).astype(np.int64)
            key = inv * width + code  # ascending time, then pattern
            if u * width <= max(8 * n, 1 << 16):
                rows = np.bincount(key, minlength=u * width)
                cells = np.flatnonzero(rows)
                count = rows[cells].astype(float)
                deaths = np.bincount(key, weights=event, minlength=u * width)[cells]
            else:
                cells, where = np.unique(key, return_inverse=True)
                count = np.bincount(where, minlength=len(cells)).astype(float)
                deaths = np.bincount(where, weights=event, minlength=len(cells))
            cell_time = cells >> p
            self.pattern = cells & (width - 1)  # each cell's covariate pattern
            patterns = (np.arange(width)[:, None] >> np.arange(p) & 1).astype(float)
            xc = patterns[self.pattern]
        else:
            cell_time, count, deaths, xc = inv, np.ones(n), event, x
            self.pattern = patterns = None
        self.count, self.deaths = count, deaths
        # centre, as coxph does (the likelihood is invariant)
        centre = np.einsum("c,cj->j", count, xc) / max(n, 1)
        self.x = xc - centre
        self.patterns = None if patterns is None else patterns - centre
        # cells are in time order: one group of cells per distinct time
        first = np.empty(len(cell_time), dtype=bool)
        first[:1] = True
        first[1:] = cell_time[1:] != cell_time[:-1]
        self.tstart = np.flatnonzero(first)  # first cell of each distinct time
        self.group = np.cumsum(first) - 1  # distinct-time index of each cell
        self.u = len(self.tstart)
        self.total = np.add.reduceat(count, self.tstart) if self.u else np.zeros(0)
        self.dcount = np.add.reduceat(deaths, self.tstart) if self.u else np.zeros(0)
        self.ev = np.flatnonzero(self.dcount > 0)  # distinct times with deaths
        self.dj = self.dcount[self.ev].astype(np.int64)
        self.nevent = int(self.dj.sum())
        self.n = n
        self.dx = np.einsum("c,cj->j", deaths, self.x)  # Σ over deaths of x
        # Efron: one entry per death with k/d (k = 0 … d−1 within its time); when no time
        # has two deaths (or with Breslow) every k/d is 0 and the sums go per time
        self.efron = ties == "efron" and bool(np.any(self.dj > 1))
        if self.efron:
            self.death_start = np.cumsum(self.dj) - self.dj
            self.frac = (np.arange(self.nevent) - np.repeat(self.death_start, self.dj)) / (
                np.repeat(self.dj, self.dj)
            )
            self.jj = np.repeat(np.arange(len(self.dj)), self.dj)

    def per_time(self, values: np.ndarray) -> np.ndarray:
        """Sum of a per-cell array (1-D or cells × p) over each distinct time."""
        return np.add.reduceat(values, self.tstart, axis=0)

    def sums(self, beta: np.ndarray) -> _RiskSums:
        """Risk-set and tied-death sums at each event time, and Efron's per-time sums."""
        x = self.x
        # einsum, never @ or np.dot: BLAS would hand these thin products to OpenBLAS's
        # thread pool, whose spinning threads cost 2.5× the CPU of the work itself
        if self.patterns is not None:
            eta = np.einsum("cj,j->c", self.patterns, beta)[self.pattern]
        else:
            eta = np.einsum("cj,j->c", x, beta)
        shift = float(eta.max()) if len(eta) else 0.0  # guard exp(); ℓ corrected below
        w = np.exp(eta - shift)
        nw, dw = self.count * w, self.deaths * w
        ev = self.ev
        # risk sets: reverse cumulative sums over the distinct times
        s0 = np.cumsum(self.per_time(nw)[::-1])[::-1][ev]
        s1 = np.cumsum(self.per_time(nw[:, None] * x)[::-1], axis=0)[::-1][ev]
        d0 = self.per_time(dw)[ev]
        d1 = self.per_time(dw[:, None] * x)[ev]
        dj = self.dj.astype(float)
        if self.efron:
            # den_k = S0 − (k/d)·D0 for the k-th of the d deaths at a time
            frac = self.frac
            den = s0[self.jj] - frac * d0[self.jj]
            inv = 1.0 / den
            at = self.death_start

            def over_deaths(v: np.ndarray) -> np.ndarray:
                return np.add.reduceat(v, at)  # the deaths of a time are contiguous

            log_den = float(np.log(den).sum())
            c1, c2 = over_deaths(inv), over_deaths(frac * inv)
            inv2 = inv * inv
            e0, e1, e2 = (
                over_deaths(inv2),
                over_deaths(frac * inv2),
                over_deaths(frac * frac * inv2),
            )
        else:
            log_den = float(np.einsum("t,t->", dj, np.log(s0)))
            c1 = dj / s0
            e0 = c1 / s0
            c2 = e1 = e2 = np.zeros_like(s0)
        return _RiskSums(eta, shift, w, s0, s1, d0, d1, log_den, c1, c2, e0, e1, e2)

    def cell_weights(self, sums: _RiskSums, h: np.ndarray | None = None) -> np.ndarray:
        """Per-cell weights ω with Σ_k h_k (S2 − f_k·D2)/den_k = Σ_cells ω·x·xᵀ.

        S2 at a time sums the cells at risk then, so Σ_t h_t c1_t S2_t = Σ_cells n·w·x·xᵀ ·
        (Σ of h·c1 over the event times up to the cell's time); D2 only the cell's own time.
        """
        hc1, hc2 = (sums.c1, sums.c2) if h is None else (h * sums.c1, h * sums.c2)
        full1 = np.zeros(self.u)
        full1[self.ev] = hc1
        full2 = np.zeros(self.u)
        full2[self.ev] = hc2
        return sums.w * (
            self.count * np.cumsum(full1)[self.group] - self.deaths * full2[self.group]
        )

    def mean_outer(self, sums: _RiskSums, h: np.ndarray | None = None) -> np.ndarray:
        """Σ_k h_k a_k a_kᵀ, a_k = (S1 − f_k·D1)/den_k the k-th death's risk-set mean."""
        e0, e1, e2 = (
            (sums.e0, sums.e1, sums.e2) if h is None else (h * sums.e0, h * sums.e1, h * sums.e2)
        )
        s1, d1 = sums.s1, sums.d1
        cross = np.einsum("t,ta,tb->ab", e1, s1, d1)
        return (
            np.einsum("t,ta,tb->ab", e0, s1, s1)
            - cross
            - cross.T
            + np.einsum("t,ta,tb->ab", e2, d1, d1)
        )

    def evaluate(self, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Log partial likelihood, score and information at β (Efron or Breslow)."""
        sums = self.sums(beta)
        loglik = float(
            np.einsum("c,c->", self.deaths, sums.eta) - sums.log_den - self.nevent * sums.shift
        )
        score = self.dx - (
            np.einsum("ta,t->a", sums.s1, sums.c1) - np.einsum("ta,t->a", sums.d1, sums.c2)
        )
        info = self.weighted_outer(self.cell_weights(sums)) - self.mean_outer(sums)
        return loglik, score, info

    def weighted_outer(self, weight: np.ndarray) -> np.ndarray:
        """Σ_cells ω·x·xᵀ; by pattern when the covariates are binary (2^p outer products)."""
        if self.patterns is not None:
            by_pattern = np.bincount(self.pattern, weights=weight, minlength=len(self.patterns))
            x = self.patterns
            return np.einsum("ca,cb->ab", x, by_pattern[:, None] * x)
        return np.einsum("ca,cb->ab", self.x, weight[:, None] * self.x)


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
    des = CoxDesign(time, event, x, ties, presorted)
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
        final,
        se,
        var,
        loglik0,
        newlk,
        it,
        converged,
        len(time),
        des.nevent,
        infinite,
        warnings,
        design=des,
    )
