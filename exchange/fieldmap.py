"""The export decision for every stored field of the case report form.

Every concrete field of ``Patient`` and of each CRF model must appear here with one
explicit decision; ``tests/registry/exports/test_fieldmap.py`` fails for a field that
has none, so a new field cannot reach an export by default.

Decisions:
- ``identifier``: a direct identifier (the model's ``identifier_fields``, free text):
  never in a de-identified export; only in an identified one.
- ``date``: a calendar date about the patient: days from the 2L start, or shifted.
- ``quasi``: a quasi-identifier (sex, centre): exported, counted in the k-anonymity summary.
- ``plain``: exported as is (codes and labels for choices, 0/1 for yes/no).
- ``key``: the study id / patient link: replaced by the pseudonym.
- ``internal``: bookkeeping (primary keys, versions, timestamps): never exported.
- ``missing``: the record's missing-data codes: one ``<field>_missing`` code column after
  each codable field (the comments are free text and are not exported).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models

from registry.models import (
    AdverseEvent,
    Baseline,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    TumourAssessment,
)

IDENTIFIER = "identifier"
DATE = "date"
QUASI = "quasi"
PLAIN = "plain"
KEY = "key"
INTERNAL = "internal"
MISSING = "missing"
DECISIONS = frozenset({IDENTIFIER, DATE, QUASI, PLAIN, KEY, INTERNAL, MISSING})


@dataclass(frozen=True)
class Rule:
    decision: str
    unit: str = ""


_BOOKKEEPING = {
    "id": Rule(INTERNAL),
    "version": Rule(INTERNAL),
    "updated_at": Rule(INTERNAL),
    "missing_codes": Rule(MISSING),
}

FIELD_MAP: dict[type[models.Model], dict[str, Rule]] = {
    Patient: {
        "id": Rule(INTERNAL),
        "version": Rule(INTERNAL),
        "updated_at": Rule(INTERNAL),
        "center": Rule(QUASI),
        "sequence": Rule(INTERNAL),  # part of the real study id
        "study_id": Rule(KEY),
        "mrn": Rule(IDENTIFIER),
        "initials": Rule(IDENTIFIER),
        "date_of_birth": Rule(IDENTIFIER),  # exported only as age (top-coded at 90)
        "sex": Rule(QUASI),
        "registration_date": Rule(DATE),
        "inc_confirmed_sclc": Rule(PLAIN),
        "inc_extensive_stage": Rule(PLAIN),
        "inc_progressed_on_atezolizumab": Rule(PLAIN),
        "exc_severe_systemic_disease": Rule(PLAIN),
        "exc_autoimmune_disease": Rule(PLAIN),
        "exc_incomplete_information": Rule(PLAIN),
        "enrolment_status": Rule(PLAIN),
        "screen_failure_reason": Rule(PLAIN),  # generated from the criterion labels, not typed
        "notes": Rule(IDENTIFIER),
        "no_adverse_events": Rule(PLAIN),
        "casebook_status": Rule(PLAIN),
        "created_at": Rule(INTERNAL),
    },
    Baseline: {
        **_BOOKKEEPING,
        "patient": Rule(KEY),
        "smoking": Rule(PLAIN),
        "pack_years": Rule(PLAIN, "pack-years"),
        "height_cm": Rule(PLAIN, "cm"),
        "weight_kg": Rule(PLAIN, "kg"),
        "ecog": Rule(PLAIN),
        "diagnosis_date": Rule(DATE),
        "diagnosis_confirmation": Rule(PLAIN),
        "extensive_stage_basis": Rule(PLAIN),
        "mets_brain": Rule(PLAIN),
        "mets_liver": Rule(PLAIN),
        "mets_bone": Rule(PLAIN),
        "mets_adrenal": Rule(PLAIN),
        "mets_other": Rule(PLAIN),
        "mets_other_specify": Rule(IDENTIFIER),
    },
    FirstLineTherapy: {
        **_BOOKKEEPING,
        "patient": Rule(KEY),
        "platinum_agent": Rule(PLAIN),
        "etoposide": Rule(PLAIN),
        "start_date": Rule(DATE),
        "cycles": Rule(PLAIN, "cycles"),
        "thoracic_rt": Rule(PLAIN),
        "thoracic_rt_dose_gy": Rule(PLAIN, "Gy"),
        "thoracic_rt_start": Rule(DATE),
        "thoracic_rt_end": Rule(DATE),
        "best_response": Rule(PLAIN),
        "progression_date": Rule(DATE),
    },
    TumourAssessment: {
        **_BOOKKEEPING,
        "patient": Rule(KEY),
        "assessment_date": Rule(DATE),
        "line": Rule(PLAIN),
        "target_sum_mm": Rule(PLAIN, "mm"),
        "new_lesions": Rule(PLAIN),
        "overall_response": Rule(PLAIN),
    },
    SecondLineTherapy: {
        **_BOOKKEEPING,
        "patient": Rule(KEY),
        "start_date": Rule(DATE),
        "chemotherapy_agent": Rule(PLAIN),
        "antiangiogenic_agent": Rule(PLAIN),
        "radiotherapy_site": Rule(PLAIN),
        "cycles": Rule(PLAIN, "cycles"),
        "end_date": Rule(DATE),
        "end_reason": Rule(PLAIN),
        "progression_date": Rule(DATE),
    },
    AdverseEvent: {
        **_BOOKKEEPING,
        "patient": Rule(KEY),
        "term": Rule(PLAIN),
        "term_other_specify": Rule(IDENTIFIER),
        "grade": Rule(PLAIN, "CTCAE grade"),
        "onset_date": Rule(DATE),
        "resolution_date": Rule(DATE),
        "serious": Rule(PLAIN),
        "immune_related": Rule(PLAIN),
        "attribution": Rule(PLAIN),
        "action_taken": Rule(PLAIN),
        "outcome": Rule(PLAIN),
    },
    FollowUp: {
        **_BOOKKEEPING,
        "patient": Rule(KEY),
        "contact_date": Rule(DATE),
        "vital_status": Rule(PLAIN),
        "death_date": Rule(DATE),
        "death_cause": Rule(PLAIN),
        "progression_status": Rule(PLAIN),
    },
}


def rule_for(model: type[models.Model], name: str) -> Rule:
    """The decision for one field; KeyError (loudly) for a field nobody decided on."""
    return FIELD_MAP[model][name]
