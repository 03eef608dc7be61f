"""Binary covariates from the plan: 1 for the named group, 0 for its reference, NaN = missing."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .validation import fail, numeric_column

_OPS = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}


def cohort_median(values: np.ndarray) -> float:
    """Median of the non-missing values (R ``median(x, na.rm=TRUE)``)."""
    v = values[~np.isnan(values)]
    return float(np.median(v)) if len(v) else float("nan")


def derive_covariate(patients: pd.DataFrame, cov: dict[str, Any]) -> tuple[np.ndarray, dict]:
    """One plan covariate as a float 0/1/NaN array plus its bundle description.

    op/cut: 1 where ``column op cut`` (cut "median" = cohort median, reported);
    level/reference: 1 for level value(s), 0 for reference value(s), other values missing;
    neither: the column must already be 0/1.
    """
    col = cov["column"]
    info: dict[str, Any] = {"key": cov["key"], "label": cov["label"], "column": col}
    if "op" in cov:
        x = numeric_column(patients, col)
        cut = cov["cut"]
        if cut == "median":
            cut = cohort_median(x)
            info["cut_median"] = cut
        info.update(op=cov["op"], cut=cut)
        with np.errstate(invalid="ignore"):
            out = _OPS[cov["op"]](x, cut).astype(float)
        out[np.isnan(x)] = np.nan
        default_labels = [f"{col} not {cov['op']} {cut:g}", f"{col} {cov['op']} {cut:g}"]
    elif "level" in cov:
        level = cov["level"] if isinstance(cov["level"], list) else [cov["level"]]
        ref = cov["reference"] if isinstance(cov["reference"], list) else [cov["reference"]]
        s = patients[col]
        # compare the distinct values as stripped text (so "1" in a plan matches an integer
        # column too); factorize first so the string work is per value, not per patient
        codes, uniques = pd.factorize(s)
        txt = pd.Index(uniques).astype(str).str.strip()
        value_u = np.where(txt.isin(level), 1.0, np.where(txt.isin(ref), 0.0, np.nan))
        out = np.where(codes < 0, np.nan, value_u[np.maximum(codes, 0)])
        info.update(level=cov["level"], reference=cov["reference"])
        info["n_other_missing"] = int(((codes >= 0) & np.isnan(out)).sum())
        default_labels = ["/".join(ref), "/".join(level)]
    else:
        out = numeric_column(patients, col)
        bad = np.flatnonzero(~np.isnan(out) & (out != 0) & (out != 1))
        if len(bad):
            pos = int(bad[0])
            raise fail(
                patients,
                col,
                pos,
                f"covariate {cov['key']!r} needs a 0/1 column (or op/cut, level/reference), "
                f"got {patients[col].iloc[pos]!r}",
            )
        default_labels = [f"{col} = 0", f"{col} = 1"]
    info["labels"] = cov.get("labels", default_labels)
    info["n_missing"] = int(np.isnan(out).sum())
    return out, info


def derive_all(
    patients: pd.DataFrame, covariates: list[dict[str, Any]]
) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Every plan covariate: {key: array}, [descriptions in plan order]."""
    values: dict[str, np.ndarray] = {}
    infos: list[dict] = []
    for cov in covariates:
        v, info = derive_covariate(patients, cov)
        values[cov["key"]] = v
        infos.append(info)
    return values, infos
