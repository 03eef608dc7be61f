"""Patients with recognisable identifiers, entered and locked through the services."""

from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest

from registry import services
from registry.models import Patient
from tests import builders, people
from tests.factories import TEST_PASSWORD, UserFactory
from tests.module_data import committed_for_module


@dataclass
class Seeded:
    patient: object
    mrn: str
    initials: str
    date_of_birth: date
    notes: str
    mets_other: str
    ae_other: str


def seed_patient(
    coordinator,
    investigator,
    n: int,
    *,
    dob: date,
    sex: str = "M",
    second_line_start: date = builders.SECOND_LINE_START,
    lock: bool = True,
) -> Seeded:
    mrn = f"ZX{n:04d}QK"
    initials = ["QJ", "XW", "KZV", "JQX", "WQZ", "ZQJ"][n % 6]
    notes = f"Call daughter Wilhelmina Quackenbush{n} on 555-01{n:02d}"
    mets_other = f"Pericardium per Dr Zebulon{n}"
    ae_other = f"Hiccups per nurse Xanthippe{n}"
    patient = builders.register_patient(
        coordinator, mrn=mrn, initials=initials, date_of_birth=dob, sex=sex, notes=notes
    )
    shift = second_line_start - builders.SECOND_LINE_START
    save = services.crf_record_save

    def at(d: date) -> date:
        return d + shift

    save(
        user=coordinator,
        patient=patient,
        section="baseline",
        data=builders.baseline(
            mets_other=True, mets_other_specify=mets_other, mets_liver=n % 2 == 0
        ),
    )
    save(
        user=coordinator,
        patient=patient,
        section="first_line",
        data=builders.first_line(
            start_date=at(date(2020, 1, 20)), progression_date=at(date(2021, 2, 15))
        ),
    )
    save(
        user=coordinator,
        patient=patient,
        section="second_line",
        data=builders.second_line(
            start_date=second_line_start,
            end_date=at(date(2021, 8, 1)) - timedelta(days=n),
            progression_date=at(date(2021, 8, 1)) - timedelta(days=n),
        ),
    )
    save(
        user=coordinator,
        patient=patient,
        section="assessments",
        data=builders.assessment(assessment_date=at(date(2020, 1, 15))),
    )
    save(
        user=coordinator,
        patient=patient,
        section="assessments",
        data=builders.assessment(
            assessment_date=at(date(2020, 3, 15)), target_sum_mm=60 - n, overall_response="PR"
        ),
    )
    save(
        user=coordinator,
        patient=patient,
        section="adverse_events",
        data=builders.adverse_event(onset_date=second_line_start + timedelta(days=20)),
    )
    save(
        user=coordinator,
        patient=patient,
        section="adverse_events",
        data=builders.adverse_event(
            term="Other, specify",
            term_other_specify=ae_other,
            grade=2,
            onset_date=second_line_start + timedelta(days=30 + n),
        ),
    )
    follow = {"contact_date": at(date(2022, 1, 10)) + timedelta(days=n)}
    if n % 3 == 0:
        follow = {
            "contact_date": at(date(2021, 12, 1)) + timedelta(days=n),
            "vital_status": "dead",
            "death_date": at(date(2021, 11, 20)) + timedelta(days=n),
            "death_cause": "progression",
        }
    save(user=coordinator, patient=patient, section="follow_up", data=builders.follow_up(**follow))
    if lock:
        services.casebook_mark_complete(user=coordinator, patient=patient)
        builders.lock_casebook(patient, investigator, TEST_PASSWORD)
    patient.refresh_from_db()
    return Seeded(patient, mrn, initials, dob, notes, mets_other, ae_other)


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"


@pytest.fixture
def investigator_b(center_b):
    return people.investigator_b(center_b)


@pytest.fixture
def export_admin(db):
    """An administrator holding the identified-export permission (not a superuser)."""
    from django.contrib.auth.models import Permission

    user = UserFactory(username="exa", role="admin", center=None, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="export_identified"))
    return user


@pytest.fixture
def plain_admin(db):
    return UserFactory(username="pla", role="admin", center=None, is_staff=True)


def seed_cohort(coordinator_a, investigator_a, coordinator_b, investigator_b) -> dict:
    """Six locked patients (4 in AAA, 2 in BBB), one aged 93 at registration, one unlocked."""
    locked = [
        seed_patient(coordinator_a, investigator_a, 1, dob=date(1957, 6, 15)),
        seed_patient(
            coordinator_a,
            investigator_a,
            2,
            dob=date(1951, 2, 3),
            sex="F",
            second_line_start=date(2021, 5, 10),
        ),
        seed_patient(coordinator_a, investigator_a, 3, dob=date(1927, 9, 30)),
        seed_patient(coordinator_a, investigator_a, 4, dob=date(1960, 12, 1), sex="F"),
        seed_patient(coordinator_b, investigator_b, 5, dob=date(1949, 4, 22)),
        seed_patient(
            coordinator_b,
            investigator_b,
            6,
            dob=date(1955, 8, 8),
            sex="F",
            second_line_start=date(2021, 6, 1),
        ),
    ]
    unlocked = seed_patient(coordinator_a, investigator_a, 7, dob=date(1962, 1, 5), lock=False)
    return {"locked": locked, "unlocked": unlocked}


def _seed_cohort_with_its_people() -> dict:
    a, b = people.center_a(), people.center_b()
    return seed_cohort(
        people.coordinator_a(a),
        people.investigator_a(a),
        people.coordinator_b(b),
        people.investigator_b(b),
    )


@pytest.fixture(scope="module")
def seeded_cohort(django_db_setup, django_db_blocker):
    """``seed_cohort`` built once for the module (seven casebooks entered through the
    services, six locked): exports only read them. Alice, Ivan, Bob and Ines are its rows."""
    yield from committed_for_module(django_db_blocker, _seed_cohort_with_its_people)


def _fresh(seeded: Seeded) -> Seeded:
    # The shared patient rows re-read for each test, so no test sees another's in-memory edits.
    return replace(seeded, patient=Patient.objects.get(pk=seeded.patient.pk))


@pytest.fixture
def seeded(seeded_cohort, db):
    """The module's ``seed_cohort``: {"locked": [6 Seeded], "unlocked": Seeded}."""
    return {
        "locked": [_fresh(s) for s in seeded_cohort["locked"]],
        "unlocked": _fresh(seeded_cohort["unlocked"]),
    }


@pytest.fixture
def seeded_under_90(coordinator_a, investigator_a, coordinator_b, investigator_b):
    """Five locked patients, all younger than 90, so no age is top-coded."""
    dobs = [
        date(1957, 6, 15),
        date(1951, 2, 3),
        date(1944, 9, 30),
        date(1960, 12, 1),
        date(1949, 4, 22),
    ]
    people = []
    for n, dob in enumerate(dobs, start=1):
        coordinator, investigator = (
            (coordinator_a, investigator_a) if n <= 3 else (coordinator_b, investigator_b)
        )
        people.append(
            seed_patient(
                coordinator,
                investigator,
                n,
                dob=dob,
                sex="MF"[n % 2],
                second_line_start=date(2021, 2 + n, 1),
            )
        )
    return people
