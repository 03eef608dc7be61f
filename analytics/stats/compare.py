"""Group comparisons of the baseline table (contract §7 ``compare_by``), equal to R's tests.

Categorical rows: Pearson χ² without continuity correction (``chisq.test(tab, correct =
FALSE)``), or Fisher's exact test (``fisher.test(tab)``) when any expected count is below 5.
Continuous rows: ``wilcox.test(x ~ g, exact = FALSE, correct = TRUE)``, ``t.test(x ~ g,
var.equal = TRUE)`` ("t") or ``var.equal = FALSE`` ("welch").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .dist import chi2_sf, norm_sf, t_sf2

# fisher.test's relative tolerance: tables "as or less likely" than the observed one
# include those within 1e-7 of its probability (R: relErr <- 1 + 10^(-7)).
FISHER_REL_ERR = 1 + 1e-7
# Enumeration budget of the 2×k Fisher test; past it the test is reported as not computed
# (R's FEXACT stops with a workspace error on such tables too).
FISHER_MAX_NODES = 2_000_000


@dataclass(frozen=True)
class TestResult:
    """A test's name, statistic (null for Fisher) and p (null when not computable)."""

    test: str | None
    p: float | None
    statistic: float | None = None
    df: float | None = None
    note: str | None = None


def _log_choose(n: np.ndarray | int, k: np.ndarray | int) -> np.ndarray | float:
    lg = np.vectorize(math.lgamma, otypes=[float])
    n = np.asarray(n, dtype=float)
    k = np.asarray(k, dtype=float)
    return lg(n + 1) - lg(k + 1) - lg(n - k + 1)


def chisq_test(table: np.ndarray) -> TestResult:
    """Pearson χ² = Σ (O − E)² / E, df = (r − 1)(c − 1); R ``chisq.test(tab, correct=FALSE)``."""
    obs = np.asarray(table, dtype=float)
    n = obs.sum()
    expected = np.outer(obs.sum(axis=1), obs.sum(axis=0)) / n
    stat = float(((obs - expected) ** 2 / expected).sum())
    df = (obs.shape[0] - 1) * (obs.shape[1] - 1)
    return TestResult("chi2", chi2_sf(stat, df), stat, df)


def fisher_test(table: np.ndarray) -> TestResult:
    """Fisher's exact test of an r×2 table; equals R ``fisher.test(tab)``'s two-sided p.

    p = Σ P(table) over the tables with the observed margins whose hypergeometric probability
    is at most the observed one's (× 1 + 1e-7). With the group totals n₀, n₁ and level totals
    c_j, P = Π_j C(c_j, a_j) / C(n, n₀) for first-column counts a_j. Tables are enumerated
    level by level; a branch is summed in closed form (Vandermonde: Σ Π C(c_j, a_j) =
    C(Σ c_j, m)) as soon as even its most likely completion cannot exceed the bound.
    """
    obs = np.asarray(table, dtype=np.int64)
    cols = obs.sum(axis=1)  # level totals
    m0 = int(obs[:, 0].sum())
    n = int(cols.sum())
    k = len(cols)
    log_total = float(_log_choose(n, m0))
    log_obs = float(np.sum(_log_choose(cols, obs[:, 0]))) - log_total
    bound = log_obs + math.log(FISHER_REL_ERR)
    # suffix sums: level totals still to place, and an upper bound of the log-probability
    # that the remaining levels can add (each level at its most likely count)
    rest = np.concatenate((np.cumsum(cols[::-1])[::-1], [0])).astype(np.int64)
    best = np.array([float(_log_choose(c, c // 2)) for c in cols])
    rest_best = np.concatenate((np.cumsum(best[::-1])[::-1], [0.0]))
    total = 0.0
    nodes = 0
    stack = [(0, m0, -log_total)]
    while stack:
        j, m, past = stack.pop()
        nodes += 1
        if nodes > FISHER_MAX_NODES:
            return TestResult("fisher", None, note="table too large for the exact test")
        if past + rest_best[j] <= bound:
            total += math.exp(past + float(_log_choose(rest[j], m)))
            continue
        if j == k:
            if m == 0 and past <= bound:
                total += math.exp(past)
            continue
        c = int(cols[j])
        lo = max(0, m - int(rest[j + 1]))
        hi = min(c, m)
        for a in range(lo, hi + 1):
            stack.append((j + 1, m - a, past + float(_log_choose(c, a))))
    return TestResult("fisher", min(1.0, total))


def categorical_test(table: np.ndarray) -> TestResult:
    """χ² unless an expected count is below 5, then Fisher (contract §7); levels × groups."""
    obs = np.asarray(table, dtype=float)
    obs = obs[obs.sum(axis=1) > 0]
    if obs.shape[0] < 2 or (obs.sum(axis=0) == 0).any():
        return TestResult(None, None, note="fewer than two levels or an empty group")
    expected = np.outer(obs.sum(axis=1), obs.sum(axis=0)) / obs.sum()
    if (expected < 5).any():
        return fisher_test(obs)
    return chisq_test(obs)


def wilcoxon_test(x: np.ndarray, y: np.ndarray) -> TestResult:
    """Wilcoxon rank-sum with normal approximation, tie and continuity correction.

    Equals R ``wilcox.test(x, y, exact = FALSE, correct = TRUE)``: W = Σ ranks(x) −
    n_x(n_x+1)/2, z = (W − n_x n_y/2 − ½·sign) / σ,
    σ² = n_x n_y/12 · (n + 1 − Σ(t³ − t)/(n(n − 1))) (t = sizes of tied groups).
    """
    nx, ny = len(x), len(y)
    if nx == 0 or ny == 0:
        return TestResult("wilcoxon", None, note="an empty group")
    n = nx + ny
    # average ranks from one sort: a tie group at sorted positions s … s+t−1 ranks s + (t+1)/2
    # (1-based), exactly pandas' rank(method="average"); the tie sizes come with it
    values = np.concatenate((x, y))
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    ties = np.diff(np.append(starts, n)).astype(float)
    rank_of_sorted = (starts + (ties + 1) / 2)[np.cumsum(new) - 1]
    w = float(rank_of_sorted[order < nx].sum() - nx * (nx + 1) / 2)
    sigma = math.sqrt(nx * ny / 12 * ((n + 1) - float((ties**3 - ties).sum()) / (n * (n - 1))))
    if sigma == 0:
        return TestResult("wilcoxon", None, w, note="all values are equal")
    z = w - nx * ny / 2
    z = (z - math.copysign(0.5, z) if z != 0 else z) / sigma
    p = 2 * min(norm_sf(-z), norm_sf(z))
    return TestResult("wilcoxon", min(1.0, p), w)


def t_test(x: np.ndarray, y: np.ndarray, equal_var: bool) -> TestResult:
    """Two-sample t-test; equals R ``t.test(x, y, var.equal = equal_var)`` (Welch when False)."""
    name = "t" if equal_var else "welch"
    nx, ny = len(x), len(y)
    if nx < 2 or ny < 2:
        return TestResult(name, None, note="fewer than two values in a group")
    mx, my = float(np.mean(x)), float(np.mean(y))
    vx, vy = float(np.var(x, ddof=1)), float(np.var(y, ddof=1))
    if equal_var:
        df = nx + ny - 2.0
        v = ((nx - 1) * vx + (ny - 1) * vy) / df
        se = math.sqrt(v * (1 / nx + 1 / ny))
    else:
        sx, sy = vx / nx, vy / ny
        se = math.sqrt(sx + sy)
        df = (sx + sy) ** 2 / (sx**2 / (nx - 1) + sy**2 / (ny - 1)) if se > 0 else math.nan
    if se == 0:
        return TestResult(name, None, note="no variation in the data")
    t = (mx - my) / se
    return TestResult(name, t_sf2(t, df), t, df)


def continuous_test(x: np.ndarray, y: np.ndarray, method: str) -> TestResult:
    """The plan's ``continuous_test``: wilcoxon | t | welch."""
    if method == "wilcoxon":
        return wilcoxon_test(x, y)
    return t_test(x, y, equal_var=(method == "t"))


def _test_fields(res: TestResult) -> dict:
    out: dict = {"test": res.test, "p": res.p}
    if res.statistic is not None and np.isfinite(res.statistic):
        out["statistic"] = res.statistic
    if res.df is not None:
        out["df"] = res.df
    if res.note:
        out["note"] = res.note
    return out


def _row_kind(patients: pd.DataFrame, spec: dict) -> str:
    """The Table 1 classification of a plain column (tables.table1's rules)."""
    from .tables import KNOWN_CATEGORICAL, zero_one

    series = patients[spec["column"]]
    if "breaks" in spec:
        return "binned"
    kind = spec.get("type")
    if kind is not None:
        return kind
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if not numeric or spec["column"] in KNOWN_CATEGORICAL:
        return "categorical"
    if zero_one(series):
        return "binary"
    return "continuous"


def _level_codes(values: pd.Series) -> tuple[np.ndarray, list]:
    """Each row's level as an integer code (−1 when blank) and the levels: the column is
    coded once, not compared with each level (14 s of the engine at 1,000,000 patients)."""
    numbers = values.to_numpy() if values.dtype.kind == "f" else None
    if numbers is not None:
        known = numbers[~np.isnan(numbers)]
        # 0/1 covariates and the like: the values are their own codes, no hashing
        if len(known) and known.min() >= 0 and known.max() < 64 and np.all(known % 1 == 0):
            codes = np.where(np.isnan(numbers), -1, np.nan_to_num(numbers)).astype(np.int64)
            return codes, [np.float64(level) for level in range(int(known.max()) + 1)]
    codes, levels = pd.factorize(values)
    return codes, list(levels)


def _levels_row(
    variable: str,
    coded: tuple[np.ndarray, list],
    group: np.ndarray,
    sizes: list[int],
    only_level=None,
    order: list | None = None,
) -> dict:
    """Counts per level × group, the χ²/Fisher test on the full table, and the rows shown.
    ``coded`` is (a code per row, −1 when blank; the level of each code)."""
    from .tables import _level_sort_key, pct

    codes, levels_of_code = coded
    ok = codes >= 0
    counts = np.bincount(codes[ok] * 2 + group[ok], minlength=2 * len(levels_of_code)).reshape(
        -1, 2
    )
    present = [i for i in range(len(levels_of_code)) if counts[i].sum() > 0]
    if order is None:
        chosen = sorted(present, key=lambda i: _level_sort_key(levels_of_code[i]))
    else:
        where = {levels_of_code[i]: i for i in present}
        chosen = [where[lv] for lv in order if lv in where]
    levels = [levels_of_code[i] for i in chosen]
    table = counts[chosen] if chosen else np.array([])
    res = categorical_test(table) if len(levels) else TestResult(None, None, note="no values")
    rows = []
    for lv, counts in zip(levels, table, strict=True):
        if only_level is not None and lv != only_level:
            continue
        level = lv.item() if hasattr(lv, "item") else lv
        if isinstance(level, float) and level.is_integer():
            level = int(level)  # a 0/1 or ECOG level is printed as 1, not 1.0
        rows.append(
            {
                "level": level,
                "n": [int(counts[0]), int(counts[1])],
                "pct": [pct(int(counts[0]), sizes[0]), pct(int(counts[1]), sizes[1])],
            }
        )
    missing = [int(np.sum(~ok & (group == k))) for k in (0, 1)]
    return {"variable": variable, **_test_fields(res), "levels": rows, "missing": missing}


def comparisons(
    patients: pd.DataFrame,
    by_keys: list[str],
    items: list,
    covariate_values: dict[str, np.ndarray],
    covariate_info: dict[str, dict],
    method: str,
) -> list[dict]:
    """Contract §7 ``comparisons``: the Table 1 rows split by each binary covariate, with tests.

    Groups are [value 0, value 1] of the covariate (the contract's STR, LTR); a patient with
    a blank grouping value is left out (``n_excluded``). Percentages are of the group's
    patients. Binary rows show the level-1 row and test the 2×2 table; categorical rows show
    and test every level; continuous rows give median, Q1, Q3 (type 6) per group.
    """
    from .tables import _bin_codes, quartiles
    from .validation import numeric_column

    out = []
    # only the columns the rows read: copying the whole table per grouping is 1,000,000 rows
    # of every column
    columns = list(
        dict.fromkeys(
            item if isinstance(item, str) else item["column"]
            for item in items
            if not (isinstance(item, str) and item in covariate_values)
        )
    )
    table = patients[[c for c in columns if c in patients.columns]]
    for key in by_keys:
        by = covariate_values[key]
        labels = covariate_info[key]["labels"]
        in_group = ~np.isnan(by)
        sub = table[in_group].reset_index(drop=True)
        group = by[in_group].astype(np.int64)
        sizes = [int(np.sum(group == 0)), int(np.sum(group == 1))]
        rows = []
        for item in items:
            if isinstance(item, str) and item == key:
                continue  # a variable against itself tests nothing
            if isinstance(item, str) and item in covariate_values:
                values = pd.Series(covariate_values[item][in_group])
                row = _levels_row(item, _level_codes(values), group, sizes, only_level=1.0)
                row["label"] = covariate_info[item]["labels"][1]
                rows.append(row)
                continue
            spec = {"column": item} if isinstance(item, str) else item
            variable = spec.get("variable", spec["column"])
            kind = _row_kind(sub, spec)
            if kind == "continuous":
                x = numeric_column(sub, spec["column"])
                parts = [x[(group == k) & ~np.isnan(x)] for k in (0, 1)]
                stats = [quartiles(v) if len(v) else (None, None, None) for v in parts]
                rows.append(
                    {
                        "variable": variable,
                        **_test_fields(continuous_test(parts[0], parts[1], method)),
                        "n": [int(len(v)) for v in parts],
                        "median": [s[0] for s in stats],
                        "q1": [s[1] for s in stats],
                        "q3": [s[2] for s in stats],
                        "missing": [int(np.sum(np.isnan(x) & (group == k))) for k in (0, 1)],
                    }
                )
            elif kind == "binned":
                coded = _bin_codes(numeric_column(sub, spec["column"]), spec["breaks"])
                rows.append(_levels_row(variable, coded, group, sizes, order=coded[1]))
            elif kind == "binary":
                x = pd.Series(numeric_column(sub, spec["column"]))
                rows.append(_levels_row(variable, _level_codes(x), group, sizes, only_level=1.0))
            else:
                series = sub[spec["column"]]
                if pd.api.types.is_float_dtype(series) and np.all(
                    series.dropna() == np.round(series.dropna())
                ):
                    series = series.astype("Int64")
                # integers keep their dtype (factorized as numbers, printed as ints);
                # anything else is compared as Python objects, as before
                if not pd.api.types.is_integer_dtype(series):
                    series = series.astype(object)
                rows.append(_levels_row(variable, _level_codes(series), group, sizes))
        out.append(
            {
                "by": key,
                "groups": [{"label": labels[k], "n": sizes[k]} for k in (0, 1)],
                "n_excluded": int((~in_group).sum()),
                "rows": rows,
            }
        )
    return out
