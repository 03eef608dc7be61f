"""Rules that span parts of a casebook (clinical date order, death, grade 5).

Single-record rules live in each model's ``clean``; these need the whole
casebook. ``casebook_violations`` returns every violation with the record and
field it belongs to, so a form or API can show the message next to the field.
Services run it for the record being saved and for the whole casebook on completion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db import models

from registry import choices as c
from registry.casebook import Casebook

MINIMUM_AGE_YEARS = 18


@dataclass(frozen=True)
class Violation:
    record: models.Model
    field: str
    message: str


def _fmt(value: date) -> str:
    return value.isoformat()


def casebook_violations(book: Casebook) -> list[Violation]:
    found: list[Violation] = []
    patient, baseline, first_line, second_line = (
        book.patient,
        book.baseline,
        book.first_line,
        book.second_line,
    )

    def before(record, field, value, bound, bound_name):
        if value is not None and bound is not None and value < bound:
            found.append(
                Violation(record, field, f"must not be before {bound_name} ({_fmt(bound)}).")
            )

    def after(record, field, value, bound, bound_name):
        if value is not None and bound is not None and value > bound:
            found.append(
                Violation(record, field, f"must not be after {bound_name} ({_fmt(bound)}).")
            )

    if patient.date_of_birth and patient.registration_date:
        from registry.derived import age_in_years

        if age_in_years(patient.date_of_birth, patient.registration_date) < MINIMUM_AGE_YEARS:
            found.append(
                Violation(
                    patient,
                    "date_of_birth",
                    f"the patient must be at least {MINIMUM_AGE_YEARS} at registration.",
                )
            )
    if baseline:
        after(
            baseline,
            "diagnosis_date",
            baseline.diagnosis_date,
            patient.registration_date,
            "the registration date",
        )
    if first_line:
        before(
            first_line,
            "start_date",
            first_line.start_date,
            baseline.diagnosis_date if baseline else None,
            "the diagnosis date",
        )
    if second_line:
        before(
            second_line,
            "start_date",
            second_line.start_date,
            first_line.progression_date if first_line else None,
            "the 1L progression date",
        )
    for assessment in book.assessments:
        if assessment.line == c.TreatmentLine.FIRST:
            before(
                assessment,
                "assessment_date",
                assessment.assessment_date,
                baseline.diagnosis_date if baseline else None,
                "the diagnosis date",
            )
            after(
                assessment,
                "assessment_date",
                assessment.assessment_date,
                second_line.start_date if second_line else None,
                "the 2L start date",
            )
        else:
            before(
                assessment,
                "assessment_date",
                assessment.assessment_date,
                second_line.start_date if second_line else None,
                "the 2L start date",
            )
    for event in book.adverse_events:
        before(
            event,
            "onset_date",
            event.onset_date,
            second_line.start_date if second_line else None,
            "the 2L start date",
        )

    death = book.death_date
    death_records = [f for f in book.follow_ups if f.death_date is not None]
    for record in death_records:
        if record.death_date != death:
            found.append(
                Violation(
                    record,
                    "death_date",
                    f"disagrees with the death date already recorded ({_fmt(death)}).",
                )
            )
        before(
            record,
            "death_date",
            record.death_date,
            second_line.start_date if second_line else None,
            "the 2L start date",
        )
    if death is not None:
        dated_fields = [
            (first_line, "progression_date"),
            (second_line, "start_date"),
            (second_line, "end_date"),
            (second_line, "progression_date"),
            *[(a, "assessment_date") for a in book.assessments],
            *[(e, "onset_date") for e in book.adverse_events],
            *[(e, "resolution_date") for e in book.adverse_events],
        ]
        for record, name in dated_fields:
            if record is not None:
                after(record, name, getattr(record, name), death, "the death date")
        for record in book.follow_ups:
            if record.vital_status == c.VitalStatus.ALIVE:
                after(
                    record,
                    "contact_date",
                    record.contact_date,
                    death,
                    "the death date (the patient is reported alive)",
                )
            elif record.vital_status == c.VitalStatus.LOST:
                after(
                    record,
                    "contact_date",
                    record.contact_date,
                    death,
                    "the death date (the patient is reported lost to follow-up)",
                )
    for event in book.adverse_events:
        if event.grade == 5 and death is None:
            found.append(
                Violation(
                    event,
                    "grade",
                    "a grade 5 adverse event requires a recorded death: add the follow-up "
                    "with vital status 'Dead' first.",
                )
            )
    return found


def violations_for(book: Casebook, record: models.Model) -> dict[str, list[str]]:
    """Messages for one record's fields, prefixed with the field's label."""
    errors: dict[str, list[str]] = {}
    for violation in casebook_violations(book):
        if violation.record is record:
            label = record._meta.get_field(violation.field).verbose_name
            errors.setdefault(violation.field, []).append(
                f"{label[:1].upper()}{label[1:]} {violation.message}"
            )
    return errors
