"""Subgroup Kaplan–Meier curves for the dashboard's figures.

The contract's bundle gives each subgroup's n, events, median and log-rank test but not
its curve. Until the engine emits ``curve``/``at_risk`` per subgroup group itself, the run
adds them here with the engine's own functions (same covariate derivation, same KM
estimator, same row selection as ``analytics.stats.bundle.analyze``), and only where the
bundle lacks them, so an engine that provides them wins.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.stats.covariates import derive_all
from analytics.stats.km import at_risk_table, curve_points, km_fit
from analytics.stats.plan import parse_plan
from analytics.stats.validation import binary_column, time_column


class _Cohort:
    """What both additions read, worked out once per bundle: the parsed plan, the derived
    covariates and, per endpoint, time and event sorted by time with that row order (NaN
    last), so each curve's rows come sorted and the KM fits and censoring marks never sort
    again."""

    def __init__(self, patients: pd.DataFrame, plan: dict) -> None:
        self.plan = parse_plan(plan)
        self.values, _infos = derive_all(patients, self.plan["covariates"])
        self.endpoints = {}
        for name, endpoint in self.plan["endpoints"].items():
            t = time_column(patients, endpoint["time"])
            e = binary_column(patients, endpoint["event"], "event")
            order = np.argsort(t, kind="stable")
            self.endpoints[name] = (t[order], e[order], order)

    def subgroup_groups(self, entry: dict):
        """Each group of a subgroup entry with its rows' sorted time and event: the named
        group (value 1) first, then the reference (value 0), as analyze() lists them."""
        t, e, order = self.endpoints[entry["endpoint"]]
        x = self.values[entry["key"]][order]
        rows = ~np.isnan(t) & ~np.isnan(e) & ~np.isnan(x)
        for group, value in zip(entry["groups"], (1.0, 0.0), strict=True):
            sel = rows & (x == value)
            yield group, t[sel], e[sel]


def add_figure_data(bundle: dict, patients: pd.DataFrame, plan: dict) -> dict:
    """The subgroup curves, then the censoring marks, where the bundle lacks them."""
    wants_curves = any("curve" not in g for s in bundle.get("subgroups") or [] for g in s["groups"])
    wants_marks = any(
        "censored" not in entry for entry in (bundle.get("km") or {}).values()
    ) or any("censored" not in g for s in bundle.get("subgroups") or [] for g in s["groups"])
    if not (wants_curves or wants_marks):
        return bundle
    cohort = _Cohort(patients, plan)
    if wants_curves:
        _add_subgroup_curves(bundle, cohort)
    _add_censor_marks(bundle, cohort)
    return bundle


def _add_subgroup_curves(bundle: dict, cohort: _Cohort) -> None:
    plan = cohort.plan
    for entry in bundle.get("subgroups") or []:
        for group, t, e in cohort.subgroup_groups(entry):
            if "curve" in group:
                continue
            fit = km_fit(t, e, plan["km_ci"], plan["alpha"])
            group["curve"] = curve_points(fit, plan["curve_max_points"])
            group["at_risk"] = at_risk_table(fit, plan["at_risk_step"])


# Censoring ticks finer than this share of the time axis cannot be told apart in a figure:
# one tick per bin keeps the bundle small at 100,000 patients.
CENSOR_BINS = 400


def censor_marks(time: np.ndarray, event: np.ndarray, curve: list[dict]) -> list[list[float]]:
    """[t, S(t)] of the censored times, one per 1/CENSOR_BINS of the time range.

    S(t) is read from the step curve (the last vertex at or before t), where the tick sits.
    """
    # stable: timsort, linear on the already sorted times the callers pass
    censored = np.sort(time[(event == 0) & ~np.isnan(time)], kind="stable")
    if not len(censored) or not curve:
        return []
    t_max = max(float(np.max(time[~np.isnan(time)])), 1e-9)
    width = t_max / CENSOR_BINS
    bins = np.floor(censored / width)
    keep = np.concatenate(([True], bins[1:] != bins[:-1]))
    ticks = censored[keep]
    ts = np.array([p["t"] for p in curve])
    ss = np.array([p["s"] for p in curve])
    at = np.searchsorted(ts, ticks, side="right") - 1
    return [[float(t), float(s)] for t, s in zip(ticks, ss[np.maximum(at, 0)], strict=True)]


def _add_censor_marks(bundle: dict, cohort: _Cohort) -> None:
    """Adds ``censored`` ([t, S(t)] pairs) to each KM entry and subgroup group lacking it."""
    endpoints = cohort.endpoints
    for name, entry in (bundle.get("km") or {}).items():
        if "censored" in entry or name not in endpoints:
            continue
        t, e, _order = endpoints[name]
        entry["censored"] = censor_marks(t, e, entry.get("curve") or [])
    for sub in bundle.get("subgroups") or []:
        if sub["endpoint"] not in endpoints or sub["key"] not in cohort.values:
            continue
        for group, t, e in cohort.subgroup_groups(sub):
            if "censored" in group or "curve" not in group:
                continue
            group["censored"] = censor_marks(t, e, group["curve"])
