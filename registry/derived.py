"""Values derived from the CRF, never typed: one function each, used by pages,
exports and the analysis table alike.

Months are days / 30.4375 (365.25 / 12), never rounded before analysis
(analysis contract, section 1).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

DAYS_PER_MONTH = 30.4375
LTR_THRESHOLD_MONTHS = 6.0


def months_between(start: date, end: date) -> float:
    return (end - start).days / DAYS_PER_MONTH


def age_in_years(date_of_birth: date, on: date) -> int:
    """Completed years at ``on`` (age at last birthday)."""
    before_birthday = (on.month, on.day) < (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - int(before_birthday)


def bmi(height_cm: Decimal | float | None, weight_kg: Decimal | float | None) -> float | None:
    """Body-mass index, kg/m²; None when either measurement carries a missing-data code."""
    if height_cm is None or weight_kg is None:
        return None
    metres = float(height_cm) / 100.0
    return float(weight_kg) / (metres * metres)


def bmi_category(value: float) -> str:
    """Chinese adult cut-offs used by the reference study: <18.5, 18.5–23.9, >=24."""
    if value < 18.5:
        return "underweight"
    if value < 24.0:
        return "normal"
    return "overweight"


def first_line_pfs_months(start_date: date, progression_date: date) -> float:
    return months_between(start_date, progression_date)


def is_long_term_responder(l1_pfs_months: float) -> bool:
    """LTR: first-line PFS of at least 6 months (STR below)."""
    return l1_pfs_months >= LTR_THRESHOLD_MONTHS


@dataclass(frozen=True)
class Measurement:
    assessment_date: date
    target_sum_mm: Decimal | float | None  # None: not measured (a missing-data code)


def depth_of_response_pct(first_line_assessments: Iterable[Measurement]) -> float | None:
    """Maximal % shrinkage of the target-lesion sum from the first (baseline) 1L assessment.

    Negative when the sum only grew. None without a measured baseline and one later
    measured assessment, or with a zero baseline sum (shrinkage undefined). A later
    assessment whose sum was not measured is left out; an unmeasured baseline leaves the
    depth unknown rather than measured from a later scan.
    """
    ordered = sorted(first_line_assessments, key=lambda m: m.assessment_date)
    if len(ordered) < 2 or ordered[0].target_sum_mm is None:
        return None
    baseline = float(ordered[0].target_sum_mm)
    later = [float(m.target_sum_mm) for m in ordered[1:] if m.target_sum_mm is not None]
    if baseline <= 0 or not later:
        return None
    smallest = min(later)
    return (baseline - smallest) / baseline * 100.0


@dataclass(frozen=True)
class SurvivalTime:
    months: float
    event: int
    end_date: date


def overall_survival(
    index_date: date, death_date: date | None, last_known_alive: date
) -> SurvivalTime:
    """2L start to death (event 1) or to the last date the patient was known alive (0)."""
    if death_date is not None:
        return SurvivalTime(months_between(index_date, death_date), 1, death_date)
    return SurvivalTime(months_between(index_date, last_known_alive), 0, last_known_alive)


def progression_free_survival(
    index_date: date,
    progression_date: date | None,
    death_date: date | None,
    last_assessment: date | None,
) -> SurvivalTime:
    """2L start to progression or death, whichever first (1), or to the last assessment (0)."""
    events = [d for d in (progression_date, death_date) if d is not None]
    if events:
        first = min(events)
        return SurvivalTime(months_between(index_date, first), 1, first)
    censor = max(last_assessment or index_date, index_date)
    return SurvivalTime(months_between(index_date, censor), 0, censor)


def last_known_alive(dates: Iterable[date | None]) -> date | None:
    """The latest of the dates at which the patient was seen or reported alive."""
    known = [d for d in dates if d is not None]
    return max(known) if known else None


# RECIST 1.1 best overall response, best first; NE is "not evaluable".
RESPONSE_RANK = {"CR": 4, "PR": 3, "SD": 2, "PD": 1, "NE": 0}
# RECIST 1.1 §4.4: stable disease counts as best response only once it has lasted a minimum
# interval from the start of treatment, set by the protocol (commonly 6–8 weeks); 6 weeks here.
SD_MIN_DAYS = 42


@dataclass(frozen=True)
class Response:
    assessment_date: date
    overall_response: str


def best_overall_response(index_date: date, assessments: Iterable[Response]) -> str | None:
    """RECIST 1.1 best overall response of a line from its assessments' overall responses.

    The best of CR > PR > SD > PD > NE among the assessments on or after the line's start,
    up to and including the first PD (later assessments belong to the next course). SD counts
    only from SD_MIN_DAYS after the start; an earlier SD is not evaluable, so such a patient
    whose next assessment is PD has best response PD. CR/PR need no confirmation (a
    retrospective cohort whose primary endpoint is not response: RECIST 1.1 §4.4). None when
    the line has no assessment.
    """
    ordered = sorted(
        (a for a in assessments if a.assessment_date >= index_date),
        key=lambda a: a.assessment_date,
    )
    if not ordered:
        return None
    best = 0
    for a in ordered:
        # A response under a missing-data code (stored empty) is not evaluable: NE.
        rank = RESPONSE_RANK.get(a.overall_response, RESPONSE_RANK["NE"])
        if a.overall_response == "SD" and (a.assessment_date - index_date).days < SD_MIN_DAYS:
            rank = 0
        best = max(best, rank)
        if a.overall_response == "PD":
            break
    return next(code for code, rank in RESPONSE_RANK.items() if rank == best)
