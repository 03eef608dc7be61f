"""The statistical analysis plan written into an export's analysis dataset.

The study's current plan (``analytics.services.plan_current``), or, before a PI has saved
one, the engine's reference plan. The manifest and README say which was used.
"""

from __future__ import annotations

import copy

from analytics.services import plan_current
from analytics.stats.plan import reference_plan


def export_plan() -> tuple[dict, str]:
    """(plan, where it came from) for the export's plan.json."""
    current = plan_current()
    if current is not None:
        source = f"the study's current analysis plan (version {current.version})"
        return copy.deepcopy(current.plan), source
    return reference_plan(), "analytics/stats/reference_plan.json"
