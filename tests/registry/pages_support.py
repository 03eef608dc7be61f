"""Helpers for the page tests: form data as a browser sends it, and a whole-database
snapshot to check that a refused request changed nothing."""

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
        Signature.objects.filter(voided_at__isnull=True).count(),
    )


def field_block(html: str, name: str) -> str:
    """The HTML of one form field's wrapper (label, input, help, errors)."""
    match = re.search(
        rf'id="field-{re.escape(name)}"(.*?)(?=id="field-|</fieldset>|</form>)', html, re.S
    )
    assert match, f"no field {name!r} on the page"
    return match.group(1)
