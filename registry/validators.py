"""Plausibility rules every write of the case report form shares (pages, API, imports).

They run in the models' ``clean_fields`` (``full_clean``), so a form, an API write and an
import refuse the same values with the same message, naming the field and the rule:

- initials: two to four letters, nothing else; stored in capitals;
- dates: a date of birth from 1900-01-01, every other date (registration, clinical) from
  2000-01-01, and none after today;
- free text: no control characters (core.validators).

Applied to every field of a kind, not field by field, so a field added later is covered.
"""

from __future__ import annotations

from datetime import date

from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from core.validators import first_control_character

EARLIEST_BIRTH = date(1900, 1, 1)
EARLIEST_EVENT = date(2000, 1, 1)
BIRTH_DATE_FIELDS = frozenset({"date_of_birth"})


def normalise_initials(value):
    return value.strip().upper() if isinstance(value, str) else value


def initials_error(value: str) -> str | None:
    if not (2 <= len(value) <= 4 and value.isalpha()):
        return _("Use two to four letters, nothing else (e.g. JD).")
    return None


def date_error(name: str, value: date, today: date | None = None) -> str | None:
    earliest = EARLIEST_BIRTH if name in BIRTH_DATE_FIELDS else EARLIEST_EVENT
    today = today or timezone.localdate()
    if value < earliest:
        # Read by a person: the locale's unambiguous date (3 Apr 2024, 2024年4月3日).
        return _("%(date)s is before %(earliest)s: check the year.") % {
            "date": date_format(value),
            "earliest": date_format(earliest),
        }
    if value > today:
        return _("%(date)s is in the future: check the year.") % {"date": date_format(value)}
    return None


def text_error(value: str) -> str | None:
    where = first_control_character(value)
    if where:
        return _("Control characters are not allowed in text (found %(where)s).") % {"where": where}
    return None


def plausibility_errors(instance: models.Model, exclude) -> dict[str, list[str]]:
    """{field: [message]} for the values of ``instance`` that break a rule above."""
    errors: dict[str, list[str]] = {}
    skip = set(exclude or ())
    # Today once per record, not per date field: the current time zone's lookup is the
    # costliest step when a million synthetic casebooks are validated (generate_cohort).
    today = None
    for field in instance._meta.concrete_fields:
        if field.name in skip:
            continue
        value = getattr(instance, field.attname)
        message = None
        if field.name == "initials" and isinstance(value, str):
            message = initials_error(value)
        elif isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
            if isinstance(value, date):
                today = today or timezone.localdate()
                message = date_error(field.name, value, today)
        elif isinstance(field, models.CharField | models.TextField) and isinstance(value, str):
            message = text_error(value)
        if message:
            errors[field.name] = [message]
    return errors
