"""Objective response of the second line (contract §7 ``response``): ORR and DCR.

From the patient column ``l2_best_response`` (RECIST 1.1 best overall response: CR, PR, SD,
PD or NE; blank = no 2L assessment). Evaluable = CR + PR + SD + PD. ORR = (CR + PR) /
evaluable, DCR = (CR + PR + SD) / evaluable, each with the Clopper–Pearson interval, equal to
R ``binom.test(n, evaluable, conf.level = 1 − α)$conf.int``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .dist import beta_ppf
from .tables import pct
from .validation import fail

RESPONSES = ("CR", "PR", "SD", "PD", "NE")


def clopper_pearson(n: int, total: int, alpha: float = 0.05) -> tuple[float, float]:
    """Exact binomial CI (qbeta(α/2, n, N−n+1), qbeta(1−α/2, n+1, N−n)); 0 / 1 at the ends."""
    lo = 0.0 if n == 0 else beta_ppf(alpha / 2, n, total - n + 1)
    hi = 1.0 if n == total else beta_ppf(1 - alpha / 2, n + 1, total - n)
    return lo, hi


def response_column(patients: pd.DataFrame, column: str = "l2_best_response") -> pd.Series:
    """The column as stripped upper-case text, blanks as None; any other value is an error."""
    raw = patients[column]
    text = raw.astype(object).where(raw.notna(), None)
    text = text.map(lambda v: None if v is None or str(v).strip() == "" else str(v).strip())
    bad = np.flatnonzero(text.notna().to_numpy() & ~text.isin(RESPONSES).to_numpy())
    if len(bad):
        pos = int(bad[0])
        raise fail(
            patients,
            column,
            pos,
            f"best overall response must be one of {', '.join(RESPONSES)} or blank, "
            f"got {raw.iloc[pos]!r}",
        )
    return text


def response_summary(patients: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Counts by best response, ORR and DCR (n, % of evaluable, Clopper–Pearson CI)."""
    bor = response_column(patients)
    counts = {r: int((bor == r).sum()) for r in RESPONSES}
    evaluable = counts["CR"] + counts["PR"] + counts["SD"] + counts["PD"]
    out: dict = {
        "column": "l2_best_response",
        "evaluable": evaluable,
        "best_response": counts,
        "not_assessed": int(bor.isna().sum()),
        "ci_method": "clopper-pearson",
    }
    for name, members in (("orr", ("CR", "PR")), ("dcr", ("CR", "PR", "SD"))):
        n = sum(counts[m] for m in members)
        if evaluable == 0:
            out[name] = {"n": 0, "pct": None, "ci": [None, None]}
            continue
        lo, hi = clopper_pearson(n, evaluable, alpha)
        # CI in percent, like pct; full precision (rounding is the display's job)
        out[name] = {"n": n, "pct": pct(n, evaluable), "ci": [100 * lo, 100 * hi]}
    return out
