"""How the pages show casebook values and history to people: text, labels, rows.

Selectors and the casebook give raw values; these helpers turn them into what a
page prints (choices by their label, Yes/No, dates as the reader's language writes them,
"—" for nothing) and keep identifiers out for readers who may not see them. Nothing here
queries or writes. Exports and the API never come through here: they stay ISO and English.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from registry import choices as c
from registry import derived
from registry.casebook import SECTION_ATTR, Casebook
from registry.forms import field_label
from registry.models import MODEL_BY_SECTION, REPEATING_SECTIONS, AuditEvent, Patient
from registry.selectors import HistoryEntry

IDENTIFIER_HIDDEN = gettext_lazy("(identifier hidden)")
# Bookkeeping columns that are not study data; record pages and the history page leave them out.
NOT_STUDY_DATA = {
    *("id", "patient", "version", "updated_at", "created_at", "center", "sequence"),
    "missing_codes",  # shown in place of each coded field's value
}
REPEATING_COLUMNS = {
    c.Section.ASSESSMENTS: (
        "assessment_date",
        "line",
        "target_sum_mm",
        "new_lesions",
        "overall_response",
    ),
    c.Section.ADVERSE_EVENTS: (
        "term",
        "grade",
        "onset_date",
        "resolution_date",
        "serious",
        "immune_related",
        "attribution",
        "outcome",
    ),
    c.Section.FOLLOW_UP: (
        "contact_date",
        "vital_status",
        "death_date",
        "death_cause",
        "progression_status",
    ),
}


def section_slug(section: str) -> str:
    """A part's name in URLs and page anchors: 'first_line' → 'first-line'."""
    return section.replace("_", "-")


# -- values ----------------------------------------------------------------------------------


def missing_code_text(entry: dict) -> str:
    """'Unknown: not measured at admission'.

    The comment says why a value is missing, which whoever reviews the data needs; the
    form asks for no identifiers in it, and exports leave it out like all free text.
    """
    return _("%(code)s: %(comment)s") % {
        "code": c.MissingCode(entry["code"]).label,
        "comment": entry.get("comment", ""),
    }


def _missing_codes_text(model, codes: dict) -> str:
    if not codes:
        return "—"
    return "; ".join(
        _("%(field)s: %(missing)s")
        % {"field": label(model, name), "missing": missing_code_text(entry)}
        for name, entry in sorted(codes.items())
    )


def value_text(model, name: str, value, sees_identifiers: bool) -> str:
    """One stored value of ``model``'s field ``name`` as a page shows it."""
    if name in model.identifier_fields and not sees_identifiers:
        return str(IDENTIFIER_HIDDEN)
    if name == "missing_codes":
        return _missing_codes_text(model, value or {})
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    model_field = model._meta.get_field(name)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, datetime):
        return date_format(value, "DATETIME_FORMAT")
    if isinstance(value, date):
        return date_format(value)
    return str(value)


def display(record, name: str, sees_identifiers: bool) -> str:
    entry = record.missing_code(name) if hasattr(record, "missing_code") else None
    if entry is not None:
        return missing_code_text(entry)
    return value_text(type(record), name, getattr(record, name), sees_identifiers)


def label(model, name: str) -> str:
    return field_label(model._meta.get_field(name))


class FieldRow(NamedTuple):
    """One field of a record as a page lists it; ``name`` lets a page mark the field."""

    name: str
    label: str
    value: str
    help: str


class Cell(NamedTuple):
    """One cell of a repeating part's table, with the field it shows."""

    name: str
    text: str


def record_rows(record, sees_identifiers: bool) -> list[FieldRow]:
    """Every study field of a single-record part: name, label, value and help."""
    rows = []
    for model_field in record._meta.fields:
        if model_field.name in NOT_STUDY_DATA or not model_field.editable:
            continue
        if model_field.name in record.identifier_fields and not sees_identifiers:
            continue
        rows.append(
            FieldRow(
                model_field.name,
                field_label(model_field),
                display(record, model_field.name, sees_identifiers),
                model_field.help_text,
            )
        )
    return rows


def months(value: float | None) -> str:
    if value is None:
        return "—"
    return _("%(months)s months") % {"months": f"{value:.1f}"}


BMI_CATEGORY_LABELS = {
    "underweight": gettext_lazy("underweight"),
    "normal": gettext_lazy("normal"),
    "overweight": gettext_lazy("overweight"),
}


def _bmi_text(bmi: float | None) -> str:
    if bmi is None:
        return "—"
    category = derived.bmi_category(bmi)
    return _("%(bmi)s kg/m² (%(category)s)") % {
        "bmi": f"{bmi:.1f}",
        "category": BMI_CATEGORY_LABELS.get(category, category),
    }


def derived_values(book: Casebook) -> list[tuple[str, str, str]]:
    """(label, value, how it is derived) — computed from the CRF, never typed."""
    patient, baseline, first_line, second_line = (
        book.patient,
        book.baseline,
        book.first_line,
        book.second_line,
    )
    items: list[tuple[str, str, str]] = []
    if second_line:
        age = derived.age_in_years(patient.date_of_birth, second_line.start_date)
        items.append(
            (
                _("Age at 2L start"),
                _("%(age)s years") % {"age": age},
                _("Completed years at the 2L start."),
            )
        )
    if baseline:
        bmi = derived.bmi(baseline.height_cm, baseline.weight_kg)
        items.append(
            (
                _("BMI"),
                _bmi_text(bmi),
                _("Weight / height²; <18.5 underweight, 18.5–23.9 normal, ≥24 overweight."),
            )
        )
    if first_line:
        l1_pfs = derived.first_line_pfs_months(first_line.start_date, first_line.progression_date)
        # LTR / STR are the study's group codes, the same in every language.
        group = "LTR" if derived.is_long_term_responder(l1_pfs) else "STR"
        items.append((_("1L PFS"), months(l1_pfs), _("1L start to 1L progression.")))
        items.append(
            (
                _("1L response group"),
                group,
                _("LTR: 1L PFS ≥ 6 months; STR: below 6 months."),
            )
        )
    dpr = book.depth_of_response_pct()
    items.append(
        (
            _("Depth of response (DpR)"),
            "—" if dpr is None else f"{dpr:.1f} %",
            _("Maximal shrinkage of the target-lesion sum from the first 1L assessment."),
        )
    )
    row = book.analysis_row()
    if row is not None:
        os_outcome = _("death") if row["os_event"] else _("censored")
        items.append(
            (
                _("Overall survival"),
                _("%(months)s, %(outcome)s")
                % {"months": months(row["os_months"]), "outcome": os_outcome},
                _("From the 2L start to death, or to the last date known alive."),
            )
        )
        pfs_outcome = _("progression or death") if row["pfs_event"] else _("censored")
        items.append(
            (
                _("Progression-free survival"),
                _("%(months)s, %(outcome)s")
                % {"months": months(row["pfs_months"]), "outcome": pfs_outcome},
                _("From the 2L start to progression or death, or to the last 2L assessment."),
            )
        )
    alive = book.last_known_alive()
    items.append(
        (
            _("Last known alive"),
            date_format(alive) if alive else "—",
            _("Latest contact, assessment, treatment or AE date."),
        )
    )
    return items


# -- the casebook page -------------------------------------------------------------------------


# A part's status as the casebook's badges say it, in one or two words.
SECTION_STATUS_WORDS = {
    c.SectionStatus.NOT_STARTED: pgettext_lazy("casebook part", "not started"),
    c.SectionStatus.INCOMPLETE: pgettext_lazy("casebook part", "incomplete"),
    c.SectionStatus.COMPLETE: pgettext_lazy("casebook part", "complete"),
}


@dataclass
class SectionView:
    value: str
    label: str
    slug: str
    status: str
    repeating: bool
    rows: list = field(default_factory=list)
    record: Any = None
    columns: list = field(default_factory=list)
    table: list = field(default_factory=list)

    @property
    def is_complete(self) -> bool:
        return self.status == c.SectionStatus.COMPLETE

    @property
    def status_label(self) -> str:
        return SECTION_STATUS_WORDS.get(self.status, self.status)


def sections(book: Casebook, sees_identifiers: bool) -> list[SectionView]:
    views = []
    for section in c.Section:
        view = SectionView(
            value=section.value,
            label=section.label,
            slug=section_slug(section.value),
            status=book.section_status(section.value),
            repeating=section.value in REPEATING_SECTIONS,
        )
        if section == c.Section.REGISTRATION:
            view.record = book.patient
            view.rows = record_rows(book.patient, sees_identifiers)
        elif view.repeating:
            model = MODEL_BY_SECTION[section.value]
            names = REPEATING_COLUMNS[section.value]
            view.columns = [label(model, name) for name in names]
            for record in getattr(book, SECTION_ATTR[section.value]):
                cells = [Cell(name, display(record, name, sees_identifiers)) for name in names]
                if (
                    section == c.Section.ADVERSE_EVENTS
                    and record.term == c.AeTerm.OTHER
                    and sees_identifiers
                ):
                    cells[0] = Cell(
                        "term", _("Other: %(term)s") % {"term": record.term_other_specify}
                    )
                view.table.append((record, cells))
        else:
            view.record = getattr(book, SECTION_ATTR[section.value])
            if view.record is not None:
                view.rows = record_rows(view.record, sees_identifiers)
        views.append(view)
    return views


# -- the history page --------------------------------------------------------------------------

_VERSION_ACTION = {
    "created": gettext_lazy("Created"),
    "changed": gettext_lazy("Changed"),
    "deleted": gettext_lazy("Deleted"),
}


@dataclass
class HistoryRow:
    at: datetime
    user: Any
    record: str
    action: str
    changes: list[tuple[str, str, str]]
    reason: str
    kind: str  # "change" or "event"


def history_value(model, name: str, value, *, hidden: bool) -> str:
    # The selector has already dropped a hidden value: the reader learns only that it changed.
    return IDENTIFIER_HIDDEN if hidden else value_text(model, name, value, sees_identifiers=True)


def record_label(model, row) -> str:
    name = capfirst(model._meta.verbose_name)
    if model is Patient:
        return _("Registration %(study_id)s") % {"study_id": row.study_id}
    detail = {
        "TumourAssessment": lambda r: _("%(line)s, %(date)s")
        % {"line": value_text(model, "line", r.line, True), "date": _date_text(r.assessment_date)},
        "AdverseEvent": lambda r: _("%(term)s, onset %(date)s")
        % {"term": value_text(model, "term", r.term, True), "date": _date_text(r.onset_date)},
        "FollowUp": lambda r: _date_text(r.contact_date),
    }.get(model.__name__)
    if detail is None:
        return name
    return _("%(record)s (%(detail)s)") % {"record": name, "detail": detail(row)}


def _date_text(value) -> str:
    # A history snapshot may hold a date or its ISO text (an import's row).
    return date_format(value) if isinstance(value, date) else str(value or "—")


def event_label(detail: dict | None) -> str:
    """What an AuditEvent was about, from its detail: the part and record, or why."""
    detail = detail or {}
    record = ""
    if "section" in detail:
        record = str(dict(c.Section.choices).get(detail["section"], detail["section"]))
    if "record" in detail:
        record = (
            _("%(part)s: %(record)s") % {"part": record, "record": detail["record"]}
            if record
            else detail["record"]
        )
    if detail.get("field") and detail.get("section") in MODEL_BY_SECTION:
        # A query's event names the field it questions, as its form labels it.
        field_name = label(MODEL_BY_SECTION[detail["section"]], detail["field"])
        record = _("%(part)s: %(field)s") % {"part": record, "field": field_name}
    if "query" in detail:
        record = _("Query %(number)s (%(where)s)") % {
            "number": detail["query"],
            "where": record or _("casebook"),
        }
    if detail.get("failed_criterion"):
        record = _("Failed: %(criterion)s") % {"criterion": detail["failed_criterion"]}
    if detail.get("why"):
        record = detail["why"]
    return record


def history_rows(entries: list[HistoryEntry]) -> list[HistoryRow]:
    """The history page's rows: bookkeeping fields left out, and with them the versions
    that changed nothing else."""
    rows = []
    for entry in entries:
        if entry.kind == "event":
            action = dict(AuditEvent.Action.choices).get(entry.action, entry.action)
            rows.append(
                HistoryRow(
                    at=entry.at,
                    user=entry.user,
                    record=event_label(entry.detail),
                    action=action,
                    changes=[],
                    reason=entry.reason,
                    kind="event",
                )
            )
            continue
        model = entry.model
        changes = [
            (
                label(model, change.field),
                # A record's first version has no old value; the page shows none.
                ""
                if entry.kind == "created"
                else history_value(model, change.field, change.old, hidden=change.hidden),
                history_value(model, change.field, change.new, hidden=change.hidden),
            )
            for change in entry.changes
            # A missing-data code replaces a value, so the history shows it being set.
            if change.field not in NOT_STUDY_DATA or change.field == "missing_codes"
        ]
        if entry.kind == "changed" and not changes:
            continue
        rows.append(
            HistoryRow(
                at=entry.at,
                user=entry.user,
                record=record_label(model, entry.snapshot),
                action=_VERSION_ACTION[entry.kind],
                changes=changes,
                reason=entry.reason,
                kind="change",
            )
        )
    return rows
