"""Reads. ``patients_visible_to`` is the only road to patient rows.

Every page, API view, admin view and export starts from it, so the centre rule
lives in one place: site staff see their own centre, study-wide roles see all.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404

from core import permissions
from registry import choices as c
from registry.casebook import SINGLE_PART_RELATIONS
from registry.models import CRF_MODELS, AuditEvent, Patient, User


def patients_visible_to(user: User) -> QuerySet[Patient]:
    if not user.is_authenticated or not user.is_active:
        return Patient.objects.none()
    queryset = Patient.objects.select_related("center")
    if permissions.sees_all_centers(user):
        return queryset
    return queryset.filter(center_id=user.center_id)


# Study ids are generated as <centre code>-<sequence>; anything else cannot name a patient.
# Checking the shape first also keeps text PostgreSQL refuses (a NUL byte) out of the query.
STUDY_ID_SHAPE = re.compile(r"[A-Z]{2,8}-\d{4,}")


def patient_get_for(user: User, study_id: str, *, with_single_parts: bool = False) -> Patient:
    """The patient with ``study_id`` if ``user`` may see it; otherwise 404, as if absent.

    ``with_single_parts`` joins the baseline, first and second line to the patient's row (one
    query instead of four), for a reader of the whole casebook (``load_casebook`` uses them).
    """
    if not STUDY_ID_SHAPE.fullmatch(study_id):
        raise Http404("No such patient.")
    queryset = patients_visible_to(user)
    if with_single_parts:
        queryset = queryset.select_related(*SINGLE_PART_RELATIONS)
    try:
        return queryset.get(study_id=study_id)
    except Patient.DoesNotExist:
        raise Http404("No such patient.") from None


# -- history -----------------------------------------------------------------------------------

# Columns that say nothing about the patient (keys, the edit counter, timestamps): a version
# that changed only these lists no changes.
_HISTORY_UNTRACKED = frozenset({"id", "patient", "version", "updated_at", "created_at"})
_HISTORY_KIND = {"+": "created", "~": "changed", "-": "deleted"}


@dataclass(frozen=True)
class FieldChange:
    """One field of one stored version, as stored (a foreign key as its id).

    ``old`` is None on a record's first version. A hidden identifier has both None, so
    neither value ever leaves this module for a reader who may not see it.
    """

    field: str
    old: Any
    new: Any
    hidden: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    """A stored version of a record ("created", "changed", "deleted") or an AuditEvent ("event")."""

    at: datetime
    user: User | None
    kind: str
    section: str | None
    record_id: int | None
    reason: str
    changes: list[FieldChange] = field(default_factory=list)
    # Versions: the record's model and its historical row (the record as it was then).
    model: type[Model] | None = None
    snapshot: Model | None = None
    # Events: the AuditEvent action and its detail.
    action: str = ""
    detail: dict = field(default_factory=dict)


def _version_entries(model, rows, section: str, identifiers: bool) -> list[HistoryEntry]:
    """Compare each version with the one before it of the same record (rows by record, time)."""
    fields = [
        f
        for f in model._meta.fields
        if f.name not in _HISTORY_UNTRACKED and f.attname not in _HISTORY_UNTRACKED
    ]
    hidden = set() if identifiers else set(model.identifier_fields)
    entries = []
    previous: dict[int, Any] = {}
    for row in rows:
        before = previous.get(row.id)
        changes = []
        if row.history_type != "-":
            for f in fields:
                new = getattr(row, f.attname)
                old = getattr(before, f.attname) if before is not None else None
                if before is not None and old == new:
                    continue
                if before is None and new in (None, ""):
                    continue
                if f.name in hidden:
                    changes.append(FieldChange(f.name, None, None, hidden=True))
                else:
                    changes.append(FieldChange(f.name, old, new))
        previous[row.id] = row
        entries.append(
            HistoryEntry(
                at=row.history_date,
                user=row.history_user,
                kind=_HISTORY_KIND[row.history_type],
                section=section,
                record_id=row.id,
                reason=row.history_change_reason or "",
                changes=changes,
                model=model,
                snapshot=row,
            )
        )
    return entries


def patient_history(patient: Patient, *, identifiers: bool) -> list[HistoryEntry]:
    """Every stored version of the patient's records and every workflow event, newest first.

    One query per history table and one for the events, whatever the history's length;
    consecutive versions of each record are compared in Python to list what changed.
    Identifier values are left out unless ``identifiers``. Entries of the same instant
    keep the order registration, CRF parts, events; within a table, record then version.
    """
    entries: list[HistoryEntry] = []
    history_sets = [
        (Patient, Patient.history.filter(id=patient.pk), c.Section.REGISTRATION),
        *((m, m.history.filter(patient_id=patient.pk), m.section) for m in CRF_MODELS),
    ]
    for model, queryset, section in history_sets:
        rows = queryset.select_related("history_user").order_by("id", "history_date", "history_id")
        entries += _version_entries(model, rows, str(section), identifiers)
    for event in AuditEvent.objects.filter(patient=patient).select_related("user"):
        entries.append(
            HistoryEntry(
                at=event.at,
                user=event.user,
                kind="event",
                section=event.detail.get("section"),
                record_id=event.detail.get("id"),
                reason=event.reason,
                action=event.action,
                detail=event.detail,
            )
        )
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries
