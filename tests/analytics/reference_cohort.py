"""The 28-patient reference-shaped cohort (tests/analytics/stats/data) as real casebooks.

Each CSV row is entered through the registry services as a coordinator would, then marked
complete and locked, so the analysis runs see it exactly as they see any study's data.
Times go through whole days (months × 30.4375, rounded), as dates in a CRF must.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from registry import services
from registry.models import Patient, User
from tests.builders import ELIGIBLE

DATA = Path(__file__).parent / "stats" / "data"
START = date(2021, 6, 1)  # everyone's 2L start: only intervals matter to the analyses
DAYS_PER_MONTH = 30.4375
AE_TERMS = {
    "Decreased appetite": "Anorexia",
    "Neutropenia": "Neutrophil count decreased",
    "Pyrexia": "Fever",
    "Rash": "Rash maculo-papular",
    "Severe skin reaction": "Erythema multiforme",
    "Thrombocytopenia": "Platelet count decreased",
}


def _days(months: float) -> timedelta:
    return timedelta(days=round(months * DAYS_PER_MONTH))


def reference_rows() -> tuple[list[dict], dict[str, list[dict]]]:
    with open(DATA / "reference_patients.csv", encoding="utf-8") as fh:
        patients = list(csv.DictReader(fh))
    events: dict[str, list[dict]] = defaultdict(list)
    with open(DATA / "reference_adverse_events.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            events[row["study_id"]].append(row)
    return patients, events


def enter_casebook(user: User, row: dict, adverse_events: list[dict], n: int) -> Patient:
    save = services.crf_record_save
    age = float(row["age_years"])
    dob = START - timedelta(days=round(age * 365.25) + 30)
    patient = services.patient_register(
        user=user,
        data={
            "mrn": f"REF{n:05d}",
            "initials": "RC",
            "date_of_birth": dob,
            "sex": row["sex"],
            "registration_date": START,
            **ELIGIBLE,
        },
    )
    smoker = row["smoking"] != "never"
    bmi = float(row["bmi"])
    save(
        user=user,
        patient=patient,
        section="baseline",
        data={
            "smoking": row["smoking"],
            "pack_years": 30 if smoker else None,
            "height_cm": 170,
            "weight_kg": Decimal(f"{bmi * 1.7 * 1.7:.1f}"),
            "ecog": int(row["ecog"]),
            "diagnosis_date": START - timedelta(days=700),
            "diagnosis_confirmation": "histological",
            "extensive_stage_basis": "distant_metastasis",
            "mets_brain": row["brain_mets"] == "1",
            "mets_liver": row["liver_mets"] == "1",
            "mets_bone": False,
            "mets_adrenal": False,
            "mets_other": False,
        },
    )
    l1_start = START - _days(float(row["l1_pfs_months"])) - timedelta(days=14)
    l1_progression = l1_start + _days(float(row["l1_pfs_months"]))
    prior_rt = row["prior_thoracic_rt"] == "1"
    save(
        user=user,
        patient=patient,
        section="first_line",
        data={
            "platinum_agent": "carboplatin",
            "etoposide": True,
            "start_date": l1_start,
            "cycles": 4,
            "thoracic_rt": prior_rt,
            "thoracic_rt_dose_gy": 30 if prior_rt else None,
            "thoracic_rt_start": l1_start + timedelta(days=90) if prior_rt else None,
            "thoracic_rt_end": l1_start + timedelta(days=104) if prior_rt else None,
            "best_response": "PR",
            "progression_date": l1_progression,
        },
    )
    dpr = float(row["dpr_pct"])
    for when, target in (
        (l1_start - timedelta(days=3), 100),
        (l1_start + timedelta(days=42), 100 - dpr),
    ):
        save(
            user=user,
            patient=patient,
            section="assessments",
            data={
                "assessment_date": when,
                "line": "1L",
                "target_sum_mm": Decimal(f"{target:.1f}"),
                "new_lesions": False,
                "overall_response": "NE" if target == 100 else "PR",
            },
        )
    os_day = START + _days(float(row["os_months"]))
    pfs_day = START + _days(float(row["pfs_months"]))
    died = row["os_event"] == "1"
    progressed = row["pfs_event"] == "1" and not (died and pfs_day >= os_day)
    save(
        user=user,
        patient=patient,
        section="second_line",
        data={
            "start_date": START,
            "chemotherapy_agent": "none",
            "antiangiogenic_agent": "anlotinib" if row["l2_antiangiogenic"] == "1" else "none",
            "radiotherapy_site": "primary_thoracic" if row["l2_radiotherapy"] == "1" else "none",
            "cycles": 4,
            "end_date": pfs_day if progressed else (os_day if died else None),
            "end_reason": "progression" if progressed else ("death" if died else "ongoing"),
            "progression_date": pfs_day if progressed else None,
        },
    )
    if row["pfs_event"] == "0" and pfs_day > START:
        # PFS censored at the last 2L assessment.
        save(
            user=user,
            patient=patient,
            section="assessments",
            data={
                "assessment_date": pfs_day,
                "line": "2L",
                "target_sum_mm": 60,
                "new_lesions": False,
                "overall_response": "SD",
            },
        )
    for ae in adverse_events:
        onset = START + timedelta(days=int(ae["onset_day"] or 0))
        grade = int(ae["grade"])
        save(
            user=user,
            patient=patient,
            section="adverse_events",
            data={
                "term": AE_TERMS.get(ae["term"], ae["term"]),
                "grade": grade,
                "onset_date": min(onset, os_day),
                "serious": grade >= 3,
                "immune_related": ae["immune_related"] == "1",
                "attribution": "possible",
                "action_taken": "none",
                "outcome": "recovered",
            },
        )
    save(
        user=user,
        patient=patient,
        section="follow_up",
        data={
            "contact_date": os_day,
            "vital_status": "dead" if died else "alive",
            "death_date": os_day if died else None,
            "death_cause": "progression" if died else "",
            "progression_status": "progressed" if row["pfs_event"] == "1" else "no_progression",
        },
    )
    services.casebook_mark_complete(user=user, patient=patient)
    patient.refresh_from_db()
    return patient
