"""From sheet rows to a checked plan: what each patient's casebook would become.

Every row is parsed into field values, matched to the patient (by study id) and record
(single parts: the one record; repeating parts: the ``instance``, else the record of the
same date), and the resulting casebook is checked with the registry's own validation:
each record's ``full_clean`` (field rules, plausibility, missing-data codes, the model's
``clean``) and the cross-part rules of ``registry.rules`` on the whole casebook — the
functions the services run. The commit then writes the plan through the services, which
check it once more. Nothing here writes.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from core import permissions
from exchange.imports.columns import (
    INSTANCE,
    MISSING_SUFFIX,
    CellError,
    FieldColumn,
    SheetLayout,
    as_text,
    blank,
    cell_display,
    layouts,
    parse,
    parse_missing_code,
)
from exchange.imports.readers import ReadResult
from registry import choices as c
from registry import rules
from registry.casebook import SECTION_ATTR, Casebook, load_casebooks
from registry.models import Center, Patient, User
from registry.selectors import patients_visible_to

ERROR = "error"
WARNING = "warning"
CONFLICT = "conflict"

# Save order at commit: a death (follow-up) before a grade 5 event, the 2L before the
# records dated against it.
SAVE_ORDER = (
    c.Section.REGISTRATION,
    c.Section.BASELINE,
    c.Section.FIRST_LINE,
    c.Section.SECOND_LINE,
    c.Section.FOLLOW_UP,
    c.Section.ASSESSMENTS,
    c.Section.ADVERSE_EVENTS,
)
# Repeating records without an instance number match a stored record of the same date.
NATURAL_KEY = {
    c.Section.ASSESSMENTS: ("assessment_date", "line"),
    c.Section.ADVERSE_EVENTS: ("onset_date", "term"),
    c.Section.FOLLOW_UP: ("contact_date",),
}
CHUNK = 500
NO_AE = "no_adverse_events"
NO_AE_COLUMN = FieldColumn(NO_AE, Patient._meta.get_field(NO_AE))


@dataclass
class Problem:
    severity: str
    sheet: str
    row: int | None
    column: str
    field: str
    message: str
    study_id: str = ""

    def as_dict(self) -> dict:
        return {
            "severity": self.severity,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "field": self.field,
            "message": self.message,
            "study_id": self.study_id,
        }


@dataclass
class RecordPlan:
    layout: SheetLayout
    sheet_label: str
    row: int
    data: dict[str, Any]
    existing: models.Model | None
    working: models.Model
    changed: list[str] = field(default_factory=list)

    @property
    def section(self) -> str:
        return self.layout.section


@dataclass
class PatientPlan:
    key: str  # the study id in the file (a new patient's is provisional)
    center: Center | None
    existing: Patient | None
    records: list[RecordPlan] = field(default_factory=list)
    errors: int = 0
    conflict: bool = False
    no_adverse_events: bool | None = None  # the file's confirmation; None: not given
    book: Casebook | None = None  # the casebook as the file leaves it (checked)

    @property
    def changed_records(self) -> list[RecordPlan]:
        return [r for r in self.records if r.existing is None or r.changed]

    @property
    def valid(self) -> bool:
        return self.errors == 0 and not self.conflict


COUNT_KEYS = (
    "patients_created",
    "patients_updated",
    "patients_unchanged",
    "patients_invalid",
    "records_created",
    "records_updated",
    "records_unchanged",
)


class Preview:
    """What the file would do, summed up chunk by chunk so the patients' plans need not all
    be held at once: counts, the first ``limit`` changes, and a hash of every change."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.problems: list[Problem] = []
        self.structural = False  # a missing sheet or column: no row was checked
        self._counts = dict.fromkeys(COUNT_KEYS, 0)
        self.invalid_without_plan = 0  # patients refused before their rows were checked
        self._changes: list[dict] = []
        self._digest = hashlib.sha256()

    def add(self, plans: Iterable[PatientPlan]) -> None:
        counts = self._counts
        for plan in plans:
            if not plan.valid:
                counts["patients_invalid"] += 1
            elif plan.existing is None:
                counts["patients_created"] += 1
            elif plan.changed_records:
                counts["patients_updated"] += 1
            else:
                counts["patients_unchanged"] += 1
            if plan.valid:
                for record in plan.records:
                    if record.existing is None:
                        counts["records_created"] += 1
                    elif record.changed:
                        counts["records_updated"] += 1
                    else:
                        counts["records_unchanged"] += 1
            for change in _plan_changes(plan):
                self._digest.update(json.dumps(change, sort_keys=True, default=str).encode())
                if self.limit is None or len(self._changes) < self.limit:
                    self._changes.append(change)

    @property
    def error_count(self) -> int:
        return sum(1 for p in self.problems if p.severity != WARNING)

    def counts(self) -> dict[str, int]:
        counts = dict(self._counts)
        counts["patients_invalid"] += self.invalid_without_plan
        counts["errors"] = self.error_count
        counts["warnings"] = len(self.problems) - self.error_count
        return counts

    def changes(self) -> list[dict]:
        return list(self._changes)

    def digest(self) -> str:
        """What the commit would write, as one hash: a commit refuses if it changed since."""
        return self._digest.hexdigest()


def _plan_changes(plan: PatientPlan) -> Iterable[dict]:
    for record in plan.changed_records:
        yield {
            "study_id": plan.key,
            "registry_id": plan.existing.study_id if plan.existing else "",
            "valid": plan.valid,
            "sheet": record.sheet_label,
            "row": record.row,
            "action": "update" if record.existing is not None else "create",
            "fields": [
                [name, _shown(record.existing, name), _shown(record.working, name)]
                for name in _change_columns(record)
            ],
        }


def _change_columns(record: RecordPlan) -> list[str]:
    if record.existing is not None:
        return list(record.changed)
    return [
        name
        for name in record.data
        if name != "missing_codes" and not blank(getattr(record.working, name))
    ] + [
        f"{n}{MISSING_SUFFIX}" for n in sorted(getattr(record.working, "missing_codes", None) or {})
    ]


def _shown(record, name: str) -> str:
    if record is None:
        return ""
    if name.endswith(MISSING_SUFFIX):
        entry = (getattr(record, "missing_codes", None) or {}).get(
            name[: -len(MISSING_SUFFIX)]
        ) or {}
        return entry.get("code", "")
    return cell_display(getattr(record, name))


@dataclass
class _Row:
    layout: SheetLayout
    sheet_label: str
    number: int
    values: dict[str, Any]


class Planner:
    """Builds the preview for one file and one importing user."""

    def __init__(
        self,
        *,
        user: User,
        center: Center | None,
        file_name: str,
        progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.user = user
        self.center = center  # --center: the default and the only centre allowed
        self.file_name = file_name
        self.progress = progress or (lambda done, total: None)
        self.problems: list[Problem] = []
        self.centers = {center.code: center for center in Center.objects.all()}
        self.row_errors: dict[str, int] = defaultdict(int)

    # -- problems ----------------------------------------------------------------------------
    def _problem(self, severity, row: _Row | None, column: str, message: str, key="", sheet=""):
        field_name = column[: -len(MISSING_SUFFIX)] if column.endswith(MISSING_SUFFIX) else column
        self.problems.append(
            Problem(
                severity,
                row.sheet_label if row else sheet,
                row.number if row else None,
                column,
                field_name,
                str(message),
                key,
            )
        )

    # -- the file's shape ------------------------------------------------------------------
    def _check_shape(self, result: ReadResult) -> bool:
        ok = True
        for layout in layouts():
            sheet = result.sheets.get(layout.name)
            if sheet is None:
                ok = False
                self._problem(
                    ERROR,
                    None,
                    "",
                    _("The sheet (or table) %(name)s is missing.") % {"name": layout.name},
                    sheet=layout.name,
                )
                continue
            header = set(sheet.header)
            for name in layout.required_columns:
                if name not in header:
                    ok = False
                    self._problem(
                        ERROR,
                        None,
                        name,
                        _("The column %(column)s is missing from %(sheet)s.")
                        % {"column": name, "sheet": sheet.label},
                        sheet=sheet.label,
                    )
            seen: set[str] = set()
            for name in sheet.header:
                if not name:
                    continue
                if name in seen:
                    ok = False
                    self._problem(
                        ERROR,
                        None,
                        name,
                        _("The column %(column)s appears twice.") % {"column": name},
                        sheet=sheet.label,
                    )
                seen.add(name)
                if name not in layout.known_columns:
                    self._problem(
                        WARNING,
                        None,
                        name,
                        _("Unknown column %(column)s: ignored.") % {"column": name},
                        sheet=sheet.label,
                    )
        for formula in result.formulas:
            ok = False
            self.problems.append(
                Problem(
                    ERROR,
                    formula.sheet,
                    formula.row,
                    formula.column,
                    formula.column,
                    _("The cell holds a formula; enter its value instead."),
                )
            )
        return ok

    # -- rows → patients -------------------------------------------------------------------
    def _group(self, result: ReadResult) -> dict[str, dict[str, list[_Row]]]:
        grouped: dict[str, dict[str, list[_Row]]] = defaultdict(lambda: defaultdict(list))
        for layout in layouts():
            sheet = result.sheets[layout.name]
            seen: dict[tuple, int] = {}
            for number, values in sheet.rows:
                row = _Row(layout, sheet.label, number, values)
                key = as_text(values.get("study_id"))
                if not key:
                    self._problem(ERROR, row, "study_id", _("Give the study id of the patient."))
                    continue
                identity: tuple = (key,)
                if layout.repeating and not blank(values.get(INSTANCE)):
                    instance = as_text(values.get(INSTANCE))
                    if not instance.isdigit() or int(instance) < 1:
                        self._problem(
                            ERROR,
                            row,
                            INSTANCE,
                            _("%(value)r is not a record number (1, 2, …).") % {"value": instance},
                            key,
                        )
                        self.row_errors[key] += 1
                        continue
                    identity = (key, int(instance))
                if not layout.repeating or len(identity) == 2:
                    if identity in seen:
                        self._problem(
                            ERROR,
                            row,
                            "study_id" if not layout.repeating else INSTANCE,
                            _("Duplicate: %(id)s is already in row %(row)d of this sheet.")
                            % {"id": " / ".join(map(str, identity)), "row": seen[identity]},
                            key,
                        )
                        self.row_errors[key] += 1
                        continue
                    seen[identity] = number
                grouped[key][layout.name].append(row)
        return grouped

    def _center_for(self, key: str, rows: dict[str, list[_Row]], existing) -> Center | None:
        """The patient's centre from the centre column (all rows must agree), or None after
        reporting why not."""
        given: dict[str, _Row] = {}
        for sheet_rows in rows.values():
            for row in sheet_rows:
                code = as_text(row.values.get("center")).upper()
                if code:
                    given.setdefault(code, row)
        if len(given) > 1:
            row = list(given.values())[1]
            self._problem(
                ERROR,
                row,
                "center",
                _("The rows of %(id)s name different centres (%(codes)s).")
                % {"id": key, "codes": ", ".join(sorted(given))},
                key,
            )
            return None
        code, row = next(iter(given.items()), (None, None))
        if code is not None and code not in self.centers:
            self._problem(ERROR, row, "center", _("Unknown centre %(code)s.") % {"code": code}, key)
            return None
        if permissions.is_site_staff(self.user):
            own = self.user.center
            if code is not None and code != own.code:
                self._problem(
                    ERROR,
                    row,
                    "center",
                    _("You import into your own centre (%(own)s) only; this row is for %(code)s.")
                    % {"own": own.code, "code": code},
                    key,
                )
                return None
            return own
        if self.center is not None and code is not None and code != self.center.code:
            self._problem(
                ERROR,
                row,
                "center",
                _("This import is for centre %(center)s; this row is for %(code)s.")
                % {"center": self.center.code, "code": code},
                key,
            )
            return None
        center = self.centers[code] if code else self.center
        if center is None and existing is not None:
            return existing.center
        if center is None:
            first = next(r for sheet_rows in rows.values() for r in sheet_rows)
            self._problem(
                ERROR,
                first,
                "center",
                _("Give the patient's centre code (or choose the centre of the import)."),
                key,
            )
        return center

    # -- the whole file --------------------------------------------------------------------
    def build(
        self,
        result: ReadResult,
        *,
        limit: int | None = None,
        consume: Callable[[list[PatientPlan]], None] | None = None,
    ) -> Preview:
        """The preview of the file; ``consume`` gets each chunk of patients' plans (the
        commit writes them) before they are let go."""
        preview = Preview(limit)
        preview.problems = self.problems
        if not self._check_shape(result):
            preview.structural = True
            return preview
        grouped = self._group(result)
        keys = sorted(grouped)
        visible = {p.study_id: p for p in patients_visible_to(self.user).filter(study_id__in=keys)}
        hidden = set(
            Patient.objects.filter(study_id__in=set(keys) - set(visible)).values_list(
                "study_id", flat=True
            )
        )
        mrns_in_file: dict[tuple[str, str], str] = {}
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            existing = [visible[k] for k in chunk if k in visible]
            books = {book.patient.study_id: book for book in load_casebooks(existing)}
            taken = self._stored_mrns(chunk, grouped)
            plans: list[PatientPlan] = []
            for key in chunk:
                rows = grouped[key]
                if key in hidden:
                    first = next(r for sheet_rows in rows.values() for r in sheet_rows)
                    self._problem(
                        ERROR,
                        first,
                        "study_id",
                        _("No patient %(id)s at a centre you may import into.") % {"id": key},
                        key,
                    )
                    preview.invalid_without_plan += 1
                    continue
                plan = self._patient(key, rows, books.get(key), taken, mrns_in_file)
                if plan is not None:
                    plans.append(plan)
                else:
                    preview.invalid_without_plan += 1
                del grouped[key]  # its rows are in the plan now
            preview.add(plans)
            if consume is not None:
                consume(plans)
            self.progress(min(start + CHUNK, len(keys)), len(keys))
        return preview

    def _stored_mrns(self, chunk: list[str], grouped) -> dict[tuple[int, str], str]:
        """(centre id, MRN) → study id of stored patients whose MRN a new row repeats."""
        mrns = {
            as_text(row.values.get("mrn"))
            for key in chunk
            for row in grouped[key].get("registration", [])
        } - {""}
        query = Patient.objects.filter(mrn__in=mrns).values_list("center_id", "mrn", "study_id")
        return {(center_id, mrn): study_id for center_id, mrn, study_id in query}

    # -- one patient -----------------------------------------------------------------------
    def _patient(self, key, rows, book: Casebook | None, taken, mrns_in_file) -> PatientPlan | None:
        before = len(self.problems)
        existing = book.patient if book else None
        center = self._center_for(key, rows, existing)
        if center is None:
            return None
        if existing is not None and existing.center_id != center.pk:
            row = next(r for sheet_rows in rows.values() for r in sheet_rows)
            self._problem(
                ERROR,
                row,
                "center",
                _("%(id)s is a patient of %(code)s.") % {"id": key, "code": existing.center.code},
                key,
            )
            return None
        plan = PatientPlan(key, center, existing)
        registration_rows = rows.get("registration", [])
        if existing is None and not registration_rows:
            row = next(r for sheet_rows in rows.values() for r in sheet_rows)
            self._problem(
                ERROR,
                row,
                "study_id",
                _("No patient %(id)s in the registry, and no registration row to create one.")
                % {"id": key},
                key,
            )
            return None
        book = book or Casebook(patient=None)
        patient = self._registration(plan, book, registration_rows, taken, mrns_in_file)
        if patient is None:
            return None
        working = Casebook(patient=patient, completed_sections=set(book.completed_sections))
        plan.book = working
        parts_rows = [r for name, rs in rows.items() if name != "registration" for r in rs]
        screen_failure = patient.enrolment_status == c.EnrolmentStatus.SCREEN_FAILURE
        for layout in layouts()[1:]:
            attr = SECTION_ATTR[layout.section]
            stored = getattr(book, attr) if book.patient is not None else None
            if layout.repeating:
                setattr(working, attr, [copy.copy(r) for r in stored or []])
                for record in getattr(working, attr):
                    record.patient = patient
            elif stored is not None:
                record = copy.copy(stored)
                record.patient = patient
                setattr(working, attr, record)
        if screen_failure and parts_rows:
            for row in parts_rows:
                self._problem(
                    ERROR,
                    row,
                    "study_id",
                    _("A screen failure has no casebook to fill: %(reason)s.")
                    % {"reason": patient.screen_failure_reason or patient.failed_criterion()},
                    key,
                )
        else:
            for row in parts_rows:
                record = self._record(plan, book, working, patient, row)
                if record is not None:
                    plan.records.append(record)
        if plan.no_adverse_events and working.adverse_events and not screen_failure:
            registration = next(r for r in plan.records if r.section == c.Section.REGISTRATION)
            self.problems.append(
                Problem(
                    ERROR,
                    registration.sheet_label,
                    registration.row,
                    NO_AE,
                    NO_AE,
                    _(
                        "Adverse events are recorded for this patient; delete them first if "
                        "none occurred."
                    ),
                    key,
                )
            )
        self._cross_part(plan, working)
        plan.errors = sum(1 for p in self.problems[before:] if p.severity == ERROR)
        # Rows of this patient refused while grouping (a duplicate, a bad record number).
        plan.errors += self.row_errors.get(key, 0)
        if existing is not None and existing.is_locked and plan.changed_records:
            plan.conflict = True
            first = plan.changed_records[0]
            self.problems.append(
                Problem(
                    CONFLICT,
                    first.sheet_label,
                    first.row,
                    "",
                    "",
                    _(
                        "Casebook %(id)s is locked and read-only: its changes are not imported "
                        "(a data manager must unlock it first)."
                    )
                    % {"id": existing.study_id},
                    key,
                )
            )
        return plan

    def _values(self, row: _Row, key: str) -> tuple[dict[str, Any], dict[str, str], list[str]]:
        """(field values, missing codes given, fields whose cell is unreadable) of one row."""
        data: dict[str, Any] = {}
        codes: dict[str, str] = {}
        bad: list[str] = []
        for column in row.layout.fields:
            if column.name not in row.values:
                continue
            try:
                data[column.field_name] = parse(column, row.values[column.name])
            except CellError as error:
                bad.append(column.field_name)
                self._problem(ERROR, row, column.name, str(error), key)
        for name in row.layout.codable:
            column = f"{name}{MISSING_SUFFIX}"
            if column not in row.values:
                continue
            try:
                code = parse_missing_code(row.values[column])
            except CellError as error:
                bad.append(name)
                self._problem(ERROR, row, column, str(error), key)
                continue
            codes[name] = code
        return data, codes, bad

    def _registration(self, plan, book, rows, taken, mrns_in_file) -> Patient | None:
        key = plan.key
        existing = plan.existing
        if not rows:
            patient = copy.copy(existing)
            return patient
        row = rows[0]
        data, _codes, bad = self._values(row, key)
        no_adverse_events = self._no_adverse_events(row, key)
        if existing is None:
            patient = Patient(center=plan.center, sequence=0, study_id="", **data)
            failed = patient.failed_criterion()
            patient.enrolment_status = (
                c.EnrolmentStatus.SCREEN_FAILURE if failed else c.EnrolmentStatus.ENROLLED
            )
            patient.screen_failure_reason = failed
            exclude = ["center", "study_id", "sequence", *bad]
        else:
            patient = copy.copy(existing)
            for name, value in data.items():
                setattr(patient, name, value)
            exclude = ["center", *bad]
        record = RecordPlan(row.layout, row.sheet_label, row.number, data, existing, patient)
        self._full_clean(patient, exclude, row, key)
        mrn = patient.mrn
        owner = taken.get((plan.center.pk, mrn))
        if mrn and owner and owner != (existing.study_id if existing else None):
            self._problem(
                ERROR,
                row,
                "mrn",
                _("A patient with this MRN is already registered at this centre (%(id)s).")
                % {"id": owner},
                key,
            )
        if mrn:
            other = mrns_in_file.setdefault((plan.center.code, mrn), key)
            if other != key:
                self._problem(
                    ERROR,
                    row,
                    "mrn",
                    _("This MRN is also given to %(id)s in this file.") % {"id": other},
                    key,
                )
        if existing is not None:
            record.changed = _changed(existing, patient, data)
            if record.changed:
                if existing.enrolment_status == c.EnrolmentStatus.SCREEN_FAILURE:
                    self._problem(
                        ERROR,
                        row,
                        record.changed[0],
                        _(
                            "A screen failure's registration is final; register the patient "
                            "again if rescreened."
                        ),
                        key,
                    )
                elif patient.failed_criterion():
                    self._problem(
                        ERROR,
                        row,
                        record.changed[0],
                        _("An enrolled patient must stay eligible: %(criterion)s.")
                        % {"criterion": patient.failed_criterion()},
                        key,
                    )
        if no_adverse_events is not None:
            # Not a registration field the service takes: confirmed after the records
            # (adverse_events_none_confirm), told apart in the plan.
            plan.no_adverse_events = no_adverse_events
            patient.no_adverse_events = no_adverse_events
            if existing is not None and existing.no_adverse_events != no_adverse_events:
                record.changed.append(NO_AE)
        plan.records.append(record)
        return patient

    def _no_adverse_events(self, row: _Row, key: str) -> bool | None:
        if blank(row.values.get(NO_AE)):
            return None
        try:
            return parse(NO_AE_COLUMN, row.values[NO_AE])
        except CellError as error:
            self._problem(ERROR, row, NO_AE, str(error), key)
            return None

    def _full_clean(self, instance, exclude, row: _Row, key: str) -> None:
        try:
            # As the bulk service and generate_cohort: uniqueness and check constraints are
            # checked by the services and the database at commit (here they would cost
            # several queries per record); each has a validator or clean() twin with the
            # form's message, which runs here.
            instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                column = _column_of(row.layout, name)
                for message in messages:
                    self._problem(ERROR, row, column, message, key)

    def _record(self, plan, book, working: Casebook, patient, row: _Row) -> RecordPlan | None:
        layout = row.layout
        model = layout.model
        attr = SECTION_ATTR[layout.section]
        data, codes, bad = self._values(row, plan.key)
        if layout.repeating:
            stored = getattr(working, attr)
            target = _match(layout, stored, row, data)
            if target is not None and any(r.working is target for r in plan.records):
                self._problem(
                    ERROR,
                    row,
                    INSTANCE,
                    _("Another row of this file already changes the same record."),
                    plan.key,
                )
                return None
        else:
            target = getattr(working, attr)
        original = None
        if target is None:
            target = model(patient=patient)
            if layout.repeating:
                getattr(working, attr).append(target)
            else:
                setattr(working, attr, target)
        else:
            original = next(r for r in _stored(book, layout.section) if r.pk == target.pk)
        for name, value in data.items():
            setattr(target, name, value)
        target.missing_codes = self._codes(layout, original, data, codes)
        data["missing_codes"] = target.missing_codes
        record = RecordPlan(layout, row.sheet_label, row.number, data, original, target)
        self._full_clean(target, ["patient", *bad], row, plan.key)
        if original is not None:
            record.changed = _changed(original, target, data)
        return record

    def _codes(self, layout, original, data, codes: dict[str, str]) -> dict:
        """The record's missing-data codes after the row: codes given in ``_missing`` columns
        (a stored comment is kept for the same code), stored codes of fields without such a
        column kept while the field stays empty (as the service does)."""
        stored = dict((original.missing_codes or {}) if original is not None else {})
        result = {}
        for name in sorted(layout.codable):
            if name in codes:
                code = codes[name]
                if not code:
                    continue
                entry = stored.get(name) or {}
                comment = entry.get("comment") if entry.get("code") == code else None
                result[name] = {
                    "code": code,
                    "comment": comment
                    or _("Imported from %(file)s") % {"file": self.file_name[:200]},
                }
            elif name in stored and blank(data.get(name)):
                result[name] = stored[name]
        return result

    def _cross_part(self, plan: PatientPlan, working: Casebook) -> None:
        by_record = {id(r.working): r for r in plan.records}
        for violation in rules.casebook_violations(working):
            record = by_record.get(id(violation.record))
            label = violation.record._meta.get_field(violation.field).verbose_name
            message = f"{label[:1].upper()}{label[1:]} {violation.message}"
            if record is not None and (record.existing is None or record.changed):
                column = _column_of(record.layout, violation.field)
                self.problems.append(
                    Problem(
                        ERROR,
                        record.sheet_label,
                        record.row,
                        column,
                        violation.field,
                        message,
                        plan.key,
                    )
                )
            elif plan.changed_records:
                # A stored (or unchanged) record that the file's changes leave in breach.
                where = record.sheet_label if record else violation.record._meta.verbose_name
                self.problems.append(
                    Problem(
                        WARNING,
                        str(where),
                        record.row if record else None,
                        violation.field,
                        violation.field,
                        f"{violation.record}: {message}",
                        plan.key,
                    )
                )


def _stored(book: Casebook, section: str) -> list:
    from registry.casebook import section_records

    if book.patient is None:
        return []
    return section_records(book, section)


def _match(layout: SheetLayout, stored: list, row: _Row, data: dict):
    instance = row.values.get(INSTANCE)
    if not blank(instance):
        number = int(as_text(instance))
        persisted = [r for r in stored if r.pk is not None]
        return persisted[number - 1] if number <= len(persisted) else None
    names = NATURAL_KEY[layout.section]
    wanted = tuple(data.get(name) for name in names)
    if any(v in (None, "") for v in wanted):
        return None
    for record in stored:
        if record.pk is not None and tuple(getattr(record, n) for n in names) == wanted:
            return record
    return None


def _column_of(layout: SheetLayout, name: str) -> str:
    if name == "missing_codes" or name == "__all__":
        return ""
    return name


def _changed(original, working, data: dict) -> list[str]:
    names = []
    for name in data:
        if name == "missing_codes":
            old = original.missing_codes or {}
            new = working.missing_codes or {}
            for coded in sorted(set(old) | set(new)):
                if (old.get(coded) or {}).get("code") != (new.get(coded) or {}).get("code"):
                    names.append(f"{coded}{MISSING_SUFFIX}")
            continue
        if getattr(original, name) != getattr(working, name):
            names.append(name)
    return names
