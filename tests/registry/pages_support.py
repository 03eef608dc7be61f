"""Helpers for the page tests: form data as a browser sends it, a whole-database snapshot
to check that a refused request changed nothing, and Alice's casebook for module data."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from registry.models import (
    CRF_MODELS,
    AuditEvent,
    Patient,
    SectionCompletion,
    Signature,
)
from tests import people
from tests.builders import build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD


def form_data(data: dict, **extra) -> dict[str, str]:
    """A builder dict as the browser posts it (radios send 'True'/'False', dates ISO)."""
    out: dict[str, str] = {}
    for name, value in {**data, **extra}.items():
        if value is None:
            out[name] = ""
        elif isinstance(value, bool):
            out[name] = str(value)
        elif isinstance(value, date):
            out[name] = value.isoformat()
        elif isinstance(value, Decimal | int | float):
            out[name] = str(value)
        else:
            out[name] = value
    return out


def snapshot() -> tuple:
    """Counts of every audited table and every patient's version and status."""
    history = tuple(model.history.count() for model in (Patient, *CRF_MODELS))
    patients = tuple(Patient.objects.order_by("pk").values_list("version", "casebook_status"))
    return (
        history,
        patients,
        AuditEvent.objects.count(),
        SectionCompletion.objects.count(),
        Signature.objects.valid().count(),
    )


def field_block(html: str, name: str) -> str:
    """The HTML of one form field's wrapper (label, input, help, errors)."""
    match = re.search(
        rf'id="field-{re.escape(name)}"(.*?)(?=id="field-|</fieldset>|</form>)', html, re.S
    )
    assert match, f"no field {name!r} on the page"
    return match.group(1)


def alices_casebook(*, locked: bool = False) -> int:
    """The id of a new casebook of Alice's (AAA) with every part entered (tests.builders);
    complete and locked by Ivan when ``locked``. Built once per module (tests.module_data)
    by the modules whose tests only read it or roll back what they change."""
    center = people.center_a()
    patient = build_casebook(people.coordinator_a(center), complete=locked)
    if locked:
        lock_casebook(patient, people.investigator_a(center), TEST_PASSWORD)
    return patient.pk
