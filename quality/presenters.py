"""How the query pages and the registry's markers show queries: labels, rows, CSV, markers.

Nothing here writes; the only reads are the ones a page asked for (``Markers`` is built
from ``field_markers``'s result, the rows from a queryset the view already holds).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from quality.models import Query, QueryMessage
from quality.rules import message_text
from registry import choices as c
from registry.models import MODEL_BY_SECTION, REPEATING_SECTIONS, Patient
from registry.presenters import IDENTIFIER_HIDDEN, REPEATING_COLUMNS, label, value_text

CSV_HEADER = (
    "id",
    "study_id",
    "centre",
    "section",
    "record_id",
    "field",
    "status",
    "raised_by",
    "raised_at",
    "days_open",
    "last_message",
)
# A spreadsheet runs a cell that starts with one of these as a formula; query text is typed
# by people, so such a cell is written with a leading apostrophe (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def where_label(query: Query) -> str:
    """Casebook, a part, a record of a repeating part, or one field, as a reader names it."""
    if not query.section:
        return _("Casebook")
    parts = [str(c.Section(query.section).label)]
    if query.record_id is not None:
        parts[0] += f" #{query.record_id}"
    if query.field:
        parts.append(label(MODEL_BY_SECTION[query.section], query.field))
    return " › ".join(parts)


def days_open(query: Query, now: datetime | None = None) -> int:
    """Whole days from raising to closing, or to now while the query is unresolved."""
    end = query.closed_at or now or timezone.now()
    return max((end - query.raised_at).days, 0)


def _from_text(model, name: str, text: str | None):
    """A value the service kept as text ("True", "2020-01-10", "65.0") back as the field's type,
    so it is shown like the casebook shows it (Yes, a choice's label)."""
    if text is None or text == "":
        return None
    try:
        return model._meta.get_field(name).to_python(text)
    except ValidationError:
        return text


def field_value(record, name: str, sees_identifiers: bool) -> str:
    """A record's current value of ``name`` as the casebook shows it ("—" with no record)."""
    if record is None or not name:
        return "—"
    return value_text(type(record), name, getattr(record, name), sees_identifiers)


@dataclass
class ThreadEntry:
    message: QueryMessage
    text: str  # the message in the reader's language if the rules wrote it (message_text)
    correction: tuple[str, str] | None  # (old, new) as a page shows them


def thread(query: Query, messages: Iterable[QueryMessage]) -> list[ThreadEntry]:
    """The messages of a query, each with the old → new of a correction made with it."""
    entries = []
    for message in messages:
        change = (message.detail or {}).get("correction")
        correction = None
        if change:
            if change.get("old") is None and change.get("new") is None:
                # The service keeps no identifier values in a query; say only that it changed.
                correction = (IDENTIFIER_HIDDEN, IDENTIFIER_HIDDEN)
            else:
                model = MODEL_BY_SECTION[query.section]
                name = change["field"]
                correction = tuple(
                    value_text(model, name, _from_text(model, name, change[key]), True)
                    for key in ("old", "new")
                )
        entries.append(
            ThreadEntry(
                message=message,
                text=message_text(message.text, message.detail),
                correction=correction,
            )
        )
    return entries


def value_at_raise(query: Query) -> str:
    if not query.field:
        return "—"
    model = MODEL_BY_SECTION[query.section]
    if query.field in model.identifier_fields:
        return IDENTIFIER_HIDDEN
    value = _from_text(model, query.field, query.value_at_raise)
    return value_text(model, query.field, value, sees_identifiers=True)


def _csv_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class _Echo:
    """A file-like object that hands back what is written: csv.writer as a line formatter."""

    def write(self, value: str) -> str:
        return value


def queries_csv(queries: QuerySet[Query]) -> Iterator[str]:
    """The filtered list as CSV lines, one row per query, codes rather than labels.

    A generator over a server-side iterator, so a long list streams instead of being
    built in memory first.
    """
    now = timezone.now()
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(CSV_HEADER)
    for query in queries.iterator(chunk_size=2000):
        row = (
            query.pk,
            query.patient.study_id,
            query.patient.center.code,
            query.section,
            query.record_id,
            query.field,
            query.status,
            query.raised_by.username if query.raised_by else "",
            query.raised_at.isoformat(timespec="seconds"),
            days_open(query, now),
            getattr(query, "last_text", "") or "",
        )
        yield writer.writerow([_csv_cell(value) for value in row])


# -- markers on the registry's pages ------------------------------------------------------------


@dataclass
class Markers:
    """The unresolved queries of one casebook, ready to be looked up by what a page shows."""

    patient: Patient
    by_target: dict[tuple[str, int | None, str], list[Query]]
    can_raise: bool
    per_section: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.per_section = {}
        for (section, _record, _field), queries in self.by_target.items():
            self.per_section[section] = self.per_section.get(section, 0) + len(queries)

    @property
    def total(self) -> int:
        return sum(self.per_section.values())

    @staticmethod
    def record_id(section: str, record) -> int | None:
        """Queries of single parts and registration carry no record id."""
        if record is None or section not in REPEATING_SECTIONS:
            return None
        return record.pk if hasattr(record, "pk") else int(record)

    def on(self, section: str, record=None, field: str = "") -> list[Query]:
        """Queries on one field, or (``field`` empty) on the whole part or record.

        A row of a repeating part's table shows a few columns only; its record-level
        marker also counts the queries on the fields the table leaves out.
        """
        record_id = self.record_id(section, record)
        queries = list(self.by_target.get((section, record_id, field), []))
        if not field and record_id is not None:
            shown = REPEATING_COLUMNS.get(section, ())
            for (s, r, f), more in self.by_target.items():
                if s == section and r == record_id and f and f not in shown:
                    queries.extend(more)
        return queries


@dataclass
class VerificationMarks:
    """The valid verifications of one casebook, ready to be looked up by what a page shows."""

    patient: Patient
    targets: set[tuple[str, int | None, str]]
    can_verify: bool

    def verified(self, section: str, record_id: int | None, field: str = "") -> bool:
        """A field is verified by its own check or by one of its whole part or record."""
        return (section, record_id, field) in self.targets or (
            section,
            record_id,
            "",
        ) in self.targets


# -- source data verification -------------------------------------------------------------------

DROPPED_CSV_HEADER = (
    "id",
    "study_id",
    "centre",
    "section",
    "record_id",
    "field",
    "verified_by",
    "verified_at",
    "dropped_at",
    "changed_fields",
    "old",
    "new",
)


def verification_where(verification) -> str:
    """Part, record and field of a verification as a reader names them."""
    label_ = str(c.Section(verification.section).label)
    if verification.record_id is not None:
        label_ += f" #{verification.record_id}"
    if verification.field:
        return f"{label_} › {label(MODEL_BY_SECTION[verification.section], verification.field)}"
    return label_


def _change(verification) -> tuple[str, str, str]:
    """(changed fields, old, new) of a dropped verification as the page shows them."""
    detail = verification.drop_detail or {}
    model = MODEL_BY_SECTION[verification.section]
    if detail.get("deleted"):
        return (_("record deleted"), "—", "—")
    if "field" not in detail:
        names = ", ".join(label(model, name) for name in detail.get("fields", []))
        return (names, "—", "—")
    name = detail["field"]
    if detail.get("old") is None and detail.get("new") is None:
        return (label(model, name), IDENTIFIER_HIDDEN, IDENTIFIER_HIDDEN)
    old, new = (
        value_text(model, name, _from_text(model, name, detail.get(key)), True)
        for key in ("old", "new")
    )
    return (label(model, name), old, new)


def dropped_row(verification) -> dict:
    changed, old, new = _change(verification)
    return {
        "v": verification,
        "where": verification_where(verification),
        "changed": changed,
        "old": old,
        "new": new,
    }


def dropped_csv(verifications) -> Iterator[str]:
    """The dropped verifications as CSV lines, codes rather than labels, streamed."""
    writer = csv.writer(_Echo(), lineterminator="\n")
    yield writer.writerow(DROPPED_CSV_HEADER)
    for v in verifications.iterator(chunk_size=2000):
        detail = v.drop_detail or {}
        changed = detail.get("field") or ",".join(detail.get("fields", [])) or "deleted"
        row = (
            v.pk,
            v.patient.study_id,
            v.patient.center.code,
            v.section,
            v.record_id,
            v.field,
            v.verified_by.username,
            v.verified_at.isoformat(timespec="seconds"),
            v.dropped_at.isoformat(timespec="seconds"),
            changed,
            detail.get("old") or "",
            detail.get("new") or "",
        )
        yield writer.writerow([_csv_cell(value) for value in row])


RULE_CSV_HEADER = ("rule", "severity", "section", "fields", "message", "centre", "hits")


def rule_report_csv(rows: Iterable[dict]) -> str:
    """The rules report as CSV: one line per rule and centre with hits (a rule without any:
    one line with an empty centre and 0), codes rather than labels."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(RULE_CSV_HEADER)
    for row in rows:
        rule = row["rule"]
        head = (rule.code, rule.severity, rule.section, " ".join(rule.fields), str(rule.message))
        for code, n in row["by_center"] or [("", 0)]:
            writer.writerow([_csv_cell(value) for value in (*head, code, n)])
    return out.getvalue()
