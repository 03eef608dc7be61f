"""A patient's change history: field changes from simple-history plus workflow AuditEvents.

One query per history table and one for the events, whatever the history's length;
consecutive versions of each record are compared in Python to list what changed.
"""

from __future__ import annotations

from registry import choices as c
from registry.models import CRF_MODELS, AuditEvent, Patient

_KIND = {"+": "created", "~": "changed", "-": "deleted"}
_SKIP = {"id", "patient", "version", "updated_at", "created_at"}


def _tracked_fields(model) -> list:
    return [f for f in model._meta.fields if f.name not in _SKIP and f.attname not in _SKIP]


def _text(value) -> str | None:
    return None if value is None else str(value)


def _entries_for(model, rows, section: str, identifiers: bool) -> list[dict]:
    fields = _tracked_fields(model)
    hidden = set() if identifiers else set(model.identifier_fields)
    entries = []
    previous: dict[int, object] = {}
    for row in rows:  # ordered by record id, then time
        before = previous.get(row.id)
        changes = []
        if row.history_type != "-":
            for field in fields:
                new = getattr(row, field.attname)
                old = getattr(before, field.attname) if before is not None else None
                if before is not None and old == new:
                    continue
                if before is None and new in (None, ""):
                    continue
                secret = field.name in hidden
                changes.append(
                    {
                        "field": field.name,
                        "old": None if secret else _text(old),
                        "new": None if secret else _text(new),
                    }
                )
        previous[row.id] = row
        entries.append(
            {
                "at": row.history_date,
                "user": row.history_user.username if row.history_user else None,
                "kind": _KIND[row.history_type],
                "section": section,
                "record_id": row.id,
                "changes": changes,
                "reason": row.history_change_reason or "",
                "detail": {},
            }
        )
    return entries


def patient_history(patient: Patient, *, identifiers: bool) -> list[dict]:
    entries: list[dict] = []
    history_sets = [
        (Patient, Patient.history.filter(id=patient.pk), c.Section.REGISTRATION),
        *((m, m.history.filter(patient_id=patient.pk), m.section) for m in CRF_MODELS),
    ]
    for model, queryset, section in history_sets:
        rows = queryset.select_related("history_user").order_by("id", "history_date")
        entries += _entries_for(model, rows, str(section), identifiers)
    events = AuditEvent.objects.filter(patient=patient).select_related("user")
    for event in events:
        entries.append(
            {
                "at": event.at,
                "user": event.user.username if event.user else None,
                "kind": f"event:{event.action}",
                "section": event.detail.get("section"),
                "record_id": event.detail.get("id"),
                "changes": [],
                "reason": event.reason,
                "detail": event.detail,
            }
        )
    entries.sort(key=lambda e: e["at"], reverse=True)
    return entries
