"""The statistical analysis plan written into an export's analysis dataset.

One function, so the source is easy to switch: the study's current plan when the
analytics app stores one (``analytics.services.plan_current``), else the stats engine's
reference plan when ``analytics.stats`` is installed, else the example plan of
analysis-contract.md §3. The manifest and README say which was used.
"""

from __future__ import annotations

import copy

CONTRACT_EXAMPLE_PLAN: dict = {
    "alpha": 0.05,
    "km_ci": "log-log",
    "ties": "efron",
    "endpoints": {
        "os": {"time": "os_months", "event": "os_event", "label": "Overall survival"},
        "pfs": {"time": "pfs_months", "event": "pfs_event", "label": "Progression-free survival"},
    },
    "primary_endpoint": "os",
    "covariates": [
        {
            "key": "age_gt60",
            "label": "Age > 60 vs <= 60",
            "column": "age_years",
            "op": ">",
            "cut": 60,
        },
        {"key": "male", "label": "Male vs female", "column": "sex", "level": "M", "reference": "F"},
        {"key": "liver", "label": "Baseline liver metastasis", "column": "liver_mets"},
        {"key": "ltr", "label": "LTR vs STR", "column": "l1_pfs_months", "op": ">=", "cut": 6},
        {
            "key": "dpr_hi",
            "label": "DpR >= median",
            "column": "dpr_pct",
            "op": ">=",
            "cut": "median",
        },
    ],
    "subgroups": ["ltr", "dpr_hi"],
    "multivariable": {"select": "univariate_p", "threshold": 0.05},
    "table1": [
        "age_years",
        "age_gt60",
        "male",
        "smoking",
        "bmi",
        "ecog",
        "brain_mets",
        "liver_mets",
    ],
    "ae_groups": {
        "Pneumonitis": [
            "Pneumonitis",
            "Interstitial lung disease",
            "Pulmonary fibrosis",
            "Acute interstitial pneumonitis",
        ],
        "Thyroiditis": ["Hypothyroidism", "Hyperthyroidism", "Thyroiditis"],
    },
}


def export_plan() -> tuple[dict, str]:
    """(plan, where it came from) for the export's plan.json."""
    try:
        from analytics.services import plan_current
    except ImportError:
        plan_current = None
    current = plan_current() if plan_current else None
    if current is not None:
        return copy.deepcopy(
            current.plan
        ), f"the study's current analysis plan (version {current.version})"
    try:
        from analytics.stats.plan import reference_plan
    except ImportError:
        return copy.deepcopy(CONTRACT_EXAMPLE_PLAN), "analysis-contract.md §3 example plan"
    return reference_plan(), "analytics/stats/reference_plan.json"
