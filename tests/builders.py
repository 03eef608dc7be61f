"""Build realistic casebooks through the services, as a coordinator would enter them."""

from __future__ import annotations

import itertools
from datetime import date, timedelta
from io import StringIO

from registry import services
from registry.management.commands import generate_cohort
from registry.models import Center, Patient, User

_mrn = itertools.count(1)

ELIGIBLE = {
    "inc_confirmed_sclc": True,
    "inc_extensive_stage": True,
    "inc_progressed_on_atezolizumab": True,
    "exc_severe_systemic_disease": False,
    "exc_autoimmune_disease": False,
    "exc_incomplete_information": False,
}

SECOND_LINE_START = date(2021, 3, 1)


def registration(**overrides) -> dict:
    data = {
        "mrn": f"MRN{next(_mrn):06d}",
        "initials": "AB",
        "date_of_birth": date(1957, 6, 15),
        "sex": "M",
        "registration_date": date(2021, 3, 2),
        **ELIGIBLE,
    }
    data.update(overrides)
    return data


def baseline(**overrides) -> dict:
    data = {
        "smoking": "former",
        "pack_years": 30,
        "height_cm": 170,
        "weight_kg": 65,
        "ecog": 1,
        "diagnosis_date": date(2020, 1, 10),
        "diagnosis_confirmation": "histological",
        "extensive_stage_basis": "distant_metastasis",
        "mets_brain": False,
        "mets_liver": False,
        "mets_bone": True,
        "mets_adrenal": False,
        "mets_other": False,
    }
    data.update(overrides)
    return data


def first_line(**overrides) -> dict:
    data = {
        "platinum_agent": "carboplatin",
        "etoposide": True,
        "start_date": date(2020, 1, 20),
        "cycles": 4,
        "thoracic_rt": False,
        "best_response": "PR",
        "progression_date": date(2021, 2, 15),
    }
    data.update(overrides)
    return data


def second_line(**overrides) -> dict:
    data = {
        "start_date": SECOND_LINE_START,
        "chemotherapy_agent": "none",
        "antiangiogenic_agent": "anlotinib",
        "radiotherapy_site": "none",
        "cycles": 6,
        "end_date": date(2021, 8, 1),
        "end_reason": "progression",
        "progression_date": date(2021, 8, 1),
    }
    data.update(overrides)
    return data


def assessment(**overrides) -> dict:
    data = {
        "assessment_date": date(2020, 1, 15),
        "line": "1L",
        "target_sum_mm": 100,
        "new_lesions": False,
        "overall_response": "NE",
    }
    data.update(overrides)
    return data


def adverse_event(**overrides) -> dict:
    data = {
        "term": "Cough",
        "grade": 1,
        "onset_date": SECOND_LINE_START + timedelta(days=20),
        "serious": False,
        "immune_related": False,
        "attribution": "possible",
        "action_taken": "none",
        "outcome": "recovered",
    }
    data.update(overrides)
    return data


def follow_up(**overrides) -> dict:
    data = {
        "contact_date": date(2022, 1, 10),
        "vital_status": "alive",
        "progression_status": "progressed",
    }
    data.update(overrides)
    return data


def register_patient(user: User, **overrides) -> Patient:
    return services.patient_register(user=user, data=registration(**overrides))


def build_casebook(user: User, *, complete: bool = False, with_ae: bool = True) -> Patient:
    """An enrolled patient with every part entered (1L shrinkage 100 → 60 mm: DpR 40%)."""
    patient = register_patient(user)
    save = services.crf_record_save
    save(user=user, patient=patient, section="baseline", data=baseline())
    save(user=user, patient=patient, section="first_line", data=first_line())
    save(user=user, patient=patient, section="second_line", data=second_line())
    save(user=user, patient=patient, section="assessments", data=assessment())
    save(
        user=user,
        patient=patient,
        section="assessments",
        data=assessment(assessment_date=date(2020, 3, 15), target_sum_mm=60, overall_response="PR"),
    )
    if with_ae:
        save(user=user, patient=patient, section="adverse_events", data=adverse_event())
    save(user=user, patient=patient, section="follow_up", data=follow_up())
    if complete:
        if not with_ae:
            services.adverse_events_none_confirm(user=user, patient=patient)
        services.casebook_mark_complete(user=user, patient=patient)
    patient.refresh_from_db()
    return patient


def lock_casebook(patient: Patient, investigator: User, password: str) -> None:
    services.casebook_lock(
        user=investigator, patient=patient, password=password, meaning=services.SIGNATURE_MEANING
    )


def bulk_casebooks(center: Center, n: int, *, lock: bool = False, seed: int = 1) -> list[Patient]:
    """``n`` synthetic casebooks at ``center``, written as ``manage.py generate_cohort`` writes
    them: validated with the services' rules, inserted in bulk with a history row per record;
    complete, signed and locked when ``lock``, otherwise in progress. For tests where how many
    casebooks there are matters and not who entered them: far faster than ``build_casebook``.
    """
    generate_cohort._generator_user()
    settings = {"lock": lock, "history": True, "batch_size": n}
    generate_cohort.generate(seed, [center.pk], n, settings, out=StringIO())
    return list(Patient.objects.filter(center=center).order_by("sequence"))[-n:]
