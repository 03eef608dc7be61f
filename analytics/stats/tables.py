"""Table 1 (baseline characteristics) and the adverse-event table of the contract's section 4."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

# Numeric columns of the contract's patient table that are categories, not measurements.
KNOWN_CATEGORICAL = {"ecog", "sex", "smoking", "center"}


def pct(n: int, total: int) -> float:
    """100·n/total rounded half-up to one decimal (exact integer arithmetic, as printed tables)."""
    if total <= 0:
        return 0.0
    return ((2000 * n + total) // (2 * total)) / 10


def quartiles(values: np.ndarray) -> tuple[float, float, float]:
    """Median, Q1, Q3 by R ``quantile(type = 6)`` (SPSS's default: position p·(n+1))."""
    q = np.percentile(values, [50, 25, 75], method="weibull")
    return float(q[0]), float(q[1]), float(q[2])


def zero_one(series: pd.Series) -> bool:
    """A numeric column with values, all of them 0 or 1 (blanks aside): a binary row."""
    values = series.to_numpy(dtype=float, na_value=np.nan)
    values = values[~np.isnan(values)]
    return len(values) > 0 and bool(np.all((values == 0) | (values == 1)))


def _level_sort_key(v: Any) -> tuple:
    try:
        return (0, float(v), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(v))


def _binary_row(variable: str, values: np.ndarray, total: int, label: str | None) -> dict:
    n1 = int(np.nansum(values == 1))
    row = {"variable": variable, "level": 1, "n": n1, "pct": pct(n1, total)}
    if label is not None:
        row["label"] = label
    row["missing"] = int(np.isnan(values).sum())
    return row


def _continuous_row(variable: str, values: np.ndarray) -> dict:
    v = values[~np.isnan(values)]
    med, q1, q3 = quartiles(v) if len(v) else (None, None, None)
    return {
        "variable": variable,
        "n": int(len(v)),
        "median": med,
        "q1": q1,
        "q3": q3,
        "missing": int(len(values) - len(v)),
    }


def _categorical_rows(variable: str, series: pd.Series, total: int) -> list[dict]:
    s = series.dropna()
    if pd.api.types.is_float_dtype(s) and len(s) and np.all(s == np.round(s)):
        s = s.astype(np.int64)  # "1.0" in a blank-holding integer column is level 1
    counts = s.value_counts()
    missing = int(series.isna().sum())
    rows = []
    for level in sorted(counts.index, key=_level_sort_key):
        n = int(counts[level])
        lv = level.item() if hasattr(level, "item") else level
        rows.append(
            {"variable": variable, "level": lv, "n": n, "pct": pct(n, total), "missing": missing}
        )
    return rows


def _bin_labels(breaks: list[float]) -> list[str]:
    # bins are [-inf, b0), [b0, b1), …, [b_last, inf): "< 18.5", "18.5 to < 24", ">= 24"
    labels = [f"< {breaks[0]:g}"]
    labels += [f"{a:g} to < {b:g}" for a, b in zip(breaks[:-1], breaks[1:], strict=True)]
    labels.append(f">= {breaks[-1]:g}")
    return labels


def _bin_codes(values: np.ndarray, breaks: list[float]) -> tuple[np.ndarray, list[str]]:
    """Each value's bin as a code (−1 when blank) and the bin labels, in bin order."""
    labels = _bin_labels(breaks)
    idx = np.searchsorted(np.asarray(breaks, dtype=float), values, side="right")
    return np.where(np.isnan(values), -1, np.minimum(idx, len(labels) - 1)), labels


def _binned_rows(variable: str, values: np.ndarray, breaks: list[float], total: int) -> list[dict]:
    labels = _bin_labels(breaks)
    ok = ~np.isnan(values)
    idx = np.searchsorted(np.asarray(breaks, dtype=float), values[ok], side="right")
    counts = np.bincount(idx, minlength=len(labels))
    missing = int((~ok).sum())
    return [
        {
            "variable": variable,
            "level": lab,
            "n": int(c),
            "pct": pct(int(c), total),
            "missing": missing,
        }
        for lab, c in zip(labels, counts, strict=True)
    ]


def table1(
    patients: pd.DataFrame,
    items: list[Any],
    covariate_values: dict[str, np.ndarray],
    covariate_info: dict[str, dict],
) -> list[dict]:
    """Rows per contract §4: binary → level-1 row; categories → a row per level; continuous →
    median, Q1, Q3 (type 6) and missing. Percentages are of all patients in the table."""
    from .validation import EngineInputError, numeric_column

    total = len(patients)
    rows: list[dict] = []
    for item in items:
        if isinstance(item, str) and item in covariate_values:
            info = covariate_info[item]
            rows.append(_binary_row(item, covariate_values[item], total, info["labels"][1]))
            continue
        spec = {"column": item} if isinstance(item, str) else item
        col = spec["column"]
        variable = spec.get("variable", col)
        if col not in patients.columns:
            raise EngineInputError(f"{col}: missing column in the patient table (needed by table1)")
        series = patients[col]
        if "breaks" in spec:
            rows.extend(
                _binned_rows(variable, numeric_column(patients, col), spec["breaks"], total)
            )
            continue
        kind = spec.get("type")
        numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        if kind is None:
            if not numeric or col in KNOWN_CATEGORICAL:
                kind = "categorical"
            elif zero_one(series):
                kind = "binary"
            else:
                kind = "continuous"
        if kind == "binary":
            rows.append(_binary_row(variable, numeric_column(patients, col), total, None))
        elif kind == "categorical":
            rows.extend(_categorical_rows(variable, series, total))
        else:
            rows.append(_continuous_row(variable, numeric_column(patients, col)))
    return rows


def _patient_counts(pat: np.ndarray, grade: np.ndarray, total: int) -> dict:
    """Patients with any event and with worst grade 3–5, from per-event patient codes."""
    size = int(pat.max()) + 1 if len(pat) else 0
    any_n = int(np.count_nonzero(np.bincount(pat, minlength=size)))
    g35 = int(np.count_nonzero(np.bincount(pat[grade >= 3], minlength=size)))
    return {
        "any_grade": {"n": any_n, "pct": pct(any_n, total)},
        "grade_3_5": {"n": g35, "pct": pct(g35, total)},
    }


def ae_table(ae: pd.DataFrame | None, n_patients: int, groups: dict[str, list[str]]) -> list[dict]:
    """Patients with ≥ 1 event (any grade / worst grade 3–5) per term or plan group, n and % of
    all patients; one count per patient per term at the worst grade. A grouped term appears
    only inside its group's row. Order: any, terms/groups by n desc then name, immune-related."""
    if ae is None:
        ae = pd.DataFrame({"study_id": [], "term": [], "grade": [], "immune_related": []})
    member_of = {t.lower(): g for g, terms in groups.items() for t in terms}
    # work on codes: ~50 distinct terms, so names are mapped once per term, not per event
    term_codes, term_names = pd.factorize(ae["term"])
    display = [member_of.get(str(t).lower(), str(t)) for t in np.asarray(term_names)]
    row_codes_of_term, row_names = pd.factorize(pd.Index(display, dtype=object))
    row = row_codes_of_term[term_codes] if len(ae) else np.zeros(0, dtype=np.int64)
    # the patient of each event as an integer: the patient-table row from
    # check_adverse_events, or (a table straight from a caller) a code per study_id
    pat = ae["patient"].to_numpy() if "patient" in ae.columns else pd.factorize(ae["study_id"])[0]
    grade = ae["grade"].to_numpy(dtype=np.int64)
    n_pat = int(pat.max()) + 1 if len(pat) else 1
    # worst grade per (row term, patient): the dedup the contract asks for. A dense
    # terms × patients grid of int8 (20 × 100,000 = 2 MB) with ufunc.at is ~10× cheaper than a
    # groupby; fall back to the groupby when the grid would be large.
    nrows = len(row_names)
    if nrows * n_pat <= 50_000_000:
        grid = np.zeros((nrows, n_pat), dtype=np.int8)
        # one flat index: ufunc.at's fast path is for a 1-D index, not a tuple of them
        np.maximum.at(grid.reshape(-1), row * n_pat + pat, grade.astype(np.int8))
        any_n = np.count_nonzero(grid, axis=1)
        g35_n = np.count_nonzero(grid >= 3, axis=1)
    else:
        key = row.astype(np.int64) * n_pat + pat
        worst = pd.Series(grade).groupby(key).max()
        wrow = (worst.index.to_numpy() // n_pat).astype(np.int64)
        any_n = np.bincount(wrow, minlength=nrows)
        g35_n = np.bincount(wrow[worst.to_numpy() >= 3], minlength=nrows)
    counts = {str(name): (int(any_n[i]), int(g35_n[i])) for i, name in enumerate(row_names)}
    body = []
    for name in set(counts) | set(groups):
        n, g = counts.get(name, (0, 0))
        item: dict[str, Any] = {"kind": "group" if name in groups else "term", "term": name}
        if name in groups:
            item["members"] = list(groups[name])
        item["any_grade"] = {"n": n, "pct": pct(n, n_patients)}
        item["grade_3_5"] = {"n": g, "pct": pct(g, n_patients)}
        body.append(item)
    body.sort(key=lambda r: (-r["any_grade"]["n"], r["term"].lower()))
    ir = ae["immune_related"].to_numpy() == 1
    return (
        [{"kind": "any", "term": "Any adverse event", **_patient_counts(pat, grade, n_patients)}]
        + body
        + [
            {
                "kind": "immune_related",
                "term": "Any immune-related adverse event",
                **_patient_counts(pat[ir], grade[ir], n_patients),
            }
        ]
    )
