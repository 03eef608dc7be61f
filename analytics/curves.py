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


def add_subgroup_curves(bundle: dict, patients: pd.DataFrame, plan: dict) -> dict:
    subgroups = bundle.get("subgroups") or []
    if not subgroups or all("curve" in g for s in subgroups for g in s["groups"]):
        return bundle
    plan = parse_plan(plan)
    values, infos = derive_all(patients, plan["covariates"])
    for entry in subgroups:
        x = values[entry["key"]]
        endpoint = plan["endpoints"][entry["endpoint"]]
        t = time_column(patients, endpoint["time"])
        e = binary_column(patients, endpoint["event"], "event")
        rows = ~np.isnan(t) & ~np.isnan(e) & ~np.isnan(x)
        # analyze() lists the named group (value 1) first, then the reference (value 0).
        for group, value in zip(entry["groups"], (1.0, 0.0), strict=True):
            if "curve" in group:
                continue
            sel = rows & (x == value)
            fit = km_fit(t[sel], e[sel], plan["km_ci"], plan["alpha"])
            group["curve"] = curve_points(fit, plan["curve_max_points"])
            group["at_risk"] = at_risk_table(fit, plan["at_risk_step"])
    return bundle
