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
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy

from registry import choices as c
from registry.casebook import Casebook

MINIMUM_AGE_YEARS = 18

# The dates a rule compares with, as its message names them.
REGISTRATION_DATE = gettext_lazy("the registration date")
DIAGNOSIS_DATE = gettext_lazy("the diagnosis date")
FIRST_LINE_PROGRESSION_DATE = gettext_lazy("the 1L progression date")
SECOND_LINE_START_DATE = gettext_lazy("the 2L start date")
DEATH_DATE = gettext_lazy("the death date")
DEATH_DATE_REPORTED_ALIVE = gettext_lazy("the death date (the patient is reported alive)")
DEATH_DATE_REPORTED_LOST = gettext_lazy(
    "the death date (the patient is reported lost to follow-up)"
)


# Each rule's message twice: ``sentence``, one sentence naming the field (what a form, the
# API and the completion check show), and ``message``, the same rule without the field for
# callers that put the field's label in front themselves.
BEFORE = (
    gettext_lazy("%(field)s must not be before %(bound)s (%(date)s)."),
    gettext_lazy("must not be before %(bound)s (%(date)s)."),
)
AFTER = (
    gettext_lazy("%(field)s must not be after %(bound)s (%(date)s)."),
    gettext_lazy("must not be after %(bound)s (%(date)s)."),
)
UNDER_AGE = (
    gettext_lazy("%(field)s: the patient must be at least %(age)d at registration."),
    gettext_lazy("the patient must be at least %(age)d at registration."),
)
DEATH_DATES_DISAGREE = (
    gettext_lazy("%(field)s disagrees with the death date already recorded (%(date)s)."),
    gettext_lazy("disagrees with the death date already recorded (%(date)s)."),
)
GRADE_5_WITHOUT_DEATH = (
    gettext_lazy(
        "%(field)s: a grade 5 adverse event requires a recorded death: add the follow-up "
        "with vital status 'Dead' first."
    ),
    gettext_lazy(
        "a grade 5 adverse event requires a recorded death: add the follow-up with vital "
        "status 'Dead' first."
    ),
)


@dataclass(frozen=True)
class Violation:
    record: models.Model
    field: str
    message: str  # the rule after the field's label: "must not be before … (10 Jan 2020)."
    sentence: str  # the whole message: "Onset date must not be before … (10 Jan 2020)."


def field_label(record: models.Model, field: str) -> str:
    return capfirst(record._meta.get_field(field).verbose_name)


def _violation(record: models.Model, field: str, rule: tuple, **values) -> Violation:
    sentence, message = rule
    return Violation(
        record,
        field,
        message=message % values,
        sentence=sentence % {"field": field_label(record, field), **values},
    )


def _fmt(value: date) -> str:
    # Read by a person: the locale's unambiguous date (3 Apr 2024, 2024年4月3日).
    return date_format(value)


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
            found.append(_violation(record, field, BEFORE, bound=bound_name, date=_fmt(bound)))

    def after(record, field, value, bound, bound_name):
        if value is not None and bound is not None and value > bound:
            found.append(_violation(record, field, AFTER, bound=bound_name, date=_fmt(bound)))

    if patient.date_of_birth and patient.registration_date:
        from registry.derived import age_in_years

        if age_in_years(patient.date_of_birth, patient.registration_date) < MINIMUM_AGE_YEARS:
            found.append(_violation(patient, "date_of_birth", UNDER_AGE, age=MINIMUM_AGE_YEARS))
    if baseline:
        after(
            baseline,
            "diagnosis_date",
            baseline.diagnosis_date,
            patient.registration_date,
            REGISTRATION_DATE,
        )
    if first_line:
        before(
            first_line,
            "start_date",
            first_line.start_date,
            baseline.diagnosis_date if baseline else None,
            DIAGNOSIS_DATE,
        )
    if second_line:
        before(
            second_line,
            "start_date",
            second_line.start_date,
            first_line.progression_date if first_line else None,
            FIRST_LINE_PROGRESSION_DATE,
        )
    for assessment in book.assessments:
        if assessment.line == c.TreatmentLine.FIRST:
            before(
                assessment,
                "assessment_date",
                assessment.assessment_date,
                baseline.diagnosis_date if baseline else None,
                DIAGNOSIS_DATE,
            )
            after(
                assessment,
                "assessment_date",
                assessment.assessment_date,
                second_line.start_date if second_line else None,
                SECOND_LINE_START_DATE,
            )
        else:
            before(
                assessment,
                "assessment_date",
                assessment.assessment_date,
                second_line.start_date if second_line else None,
                SECOND_LINE_START_DATE,
            )
    for event in book.adverse_events:
        before(
            event,
            "onset_date",
            event.onset_date,
            second_line.start_date if second_line else None,
            SECOND_LINE_START_DATE,
        )

    death = book.death_date
    death_records = [f for f in book.follow_ups if f.death_date is not None]
    for record in death_records:
        if record.death_date != death:
            found.append(_violation(record, "death_date", DEATH_DATES_DISAGREE, date=_fmt(death)))
        before(
            record,
            "death_date",
            record.death_date,
            second_line.start_date if second_line else None,
            SECOND_LINE_START_DATE,
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
                after(record, name, getattr(record, name), death, DEATH_DATE)
        for record in book.follow_ups:
            if record.vital_status == c.VitalStatus.ALIVE:
                after(
                    record,
                    "contact_date",
                    record.contact_date,
                    death,
                    DEATH_DATE_REPORTED_ALIVE,
                )
            elif record.vital_status == c.VitalStatus.LOST:
                after(
                    record,
                    "contact_date",
                    record.contact_date,
                    death,
                    DEATH_DATE_REPORTED_LOST,
                )
    for event in book.adverse_events:
        if event.grade == 5 and death is None:
            found.append(_violation(event, "grade", GRADE_5_WITHOUT_DEATH))
    return found


def violations_for(book: Casebook, record: models.Model) -> dict[str, list[str]]:
    """Messages for one record's fields."""
    errors: dict[str, list[str]] = {}
    for violation in casebook_violations(book):
        if violation.record is record:
            errors.setdefault(violation.field, []).append(violation.sentence)
    return errors
