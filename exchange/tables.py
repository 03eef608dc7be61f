"""Which columns each exported table has, and how one casebook becomes rows.

Columns of the tidy tables come from the field map (``fieldmap.FIELD_MAP``), in model
field order: a field is exported only by its decision, never by default. Each column
carries its dictionary entry (type, unit, allowed values, meaning, de-identification).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from exchange import deid
from exchange.fieldmap import DATE, FIELD_MAP, IDENTIFIER, INTERNAL, KEY, MISSING, QUASI
from registry import choices as c
from registry import derived
from registry.casebook import Casebook, section_records
from registry.models import (
    AdverseEvent,
    Baseline,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    TumourAssessment,
)


@dataclass(frozen=True)
class Options:
    identified: bool = False
    date_mode: str = "relative"  # relative | shifted


@dataclass
class PatientContext:
    """What the transforms need about one patient: pseudonym, index date, offset, centre."""

    study_id: str  # the exported id (pseudonym, or the real one in an identified export)
    center: str  # the exported centre label
    index_date: date | None
    shift: int


@dataclass
class Column:
    name: str
    type: str  # string | integer | number | date | code | label | 0/1
    # In the active language: exports build their tables in English (exchange.writer) and
    # once more in Chinese for the data dictionary's label_zh_hans column.
    meaning: str
    unit: str = ""
    allowed: str = ""
    deid: str = ""
    model: type[models.Model] | None = None
    field_name: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    get: Callable[[PatientContext, Any], Any] | None = None


@dataclass
class Table:
    name: str
    title: str
    section: str  # CRF part (Section value) or "analysis"
    model: type[models.Model] | None
    repeating: bool
    columns: list[Column]

    @property
    def header(self) -> list[str]:
        return [col.name for col in self.columns]

    @cached_property
    def getters(self) -> tuple[Callable[[PatientContext, Any], Any] | None, ...]:
        """One getter per column (None for the instance number), looked up once per
        export rather than once per cell: table_rows runs for every record of the study."""
        return tuple(None if col.name == "instance" else col.get for col in self.columns)


PARTS: tuple[tuple[str, type[models.Model], bool], ...] = (
    (c.Section.REGISTRATION, Patient, False),
    (c.Section.BASELINE, Baseline, False),
    (c.Section.FIRST_LINE, FirstLineTherapy, False),
    (c.Section.ASSESSMENTS, TumourAssessment, True),
    (c.Section.SECOND_LINE, SecondLineTherapy, False),
    (c.Section.ADVERSE_EVENTS, AdverseEvent, True),
    (c.Section.FOLLOW_UP, FollowUp, True),
)


def _range_text(model_field: models.Field) -> str:
    low = high = None
    for validator in model_field.validators:
        if isinstance(validator, MinValueValidator):
            low = validator.limit_value
        if isinstance(validator, MaxValueValidator):
            high = validator.limit_value
    return f"{low}–{high}" if low is not None and high is not None else ""


def _meaning(model_field: models.Field) -> str:
    text = str(model_field.verbose_name)
    text = text[0].upper() + text[1:]
    if model_field.help_text:
        text += f". {model_field.help_text}"
    return text


def _date_name(name: str) -> str:
    base = name[: -len("_date")] if name.endswith("_date") else name
    return f"{base}_day"


def _cell_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, Decimal):
        return float(value)
    return value


def _model_columns(model: type[models.Model], options: Options) -> list[Column]:
    columns: list[Column] = []
    for model_field in model._meta.concrete_fields:
        name = model_field.name
        rule = FIELD_MAP[model][name]
        if rule.decision in (INTERNAL, KEY, MISSING):
            continue
        if rule.decision == IDENTIFIER and not options.identified:
            continue
        meaning = _meaning(model_field)
        common = {"model": model, "field_name": name, "unit": rule.unit}
        if name == "center":
            continue  # the centre column is added first for every table (see _lead_columns)
        if rule.decision == DATE:
            if options.identified:
                columns.append(
                    Column(
                        name,
                        "date",
                        meaning,
                        allowed="YYYY-MM-DD",
                        deid="none (identified export)",
                        get=lambda ctx, r, n=name: getattr(r, n),
                        **common,
                    )
                )
            elif options.date_mode == "shifted":
                columns.append(
                    Column(
                        name,
                        "date",
                        meaning,
                        allowed="YYYY-MM-DD",
                        deid="shifted back by the patient's fixed offset (1–364 days)",
                        get=lambda ctx, r, n=name: deid.shifted(getattr(r, n), ctx.shift),
                        **common,
                    )
                )
            else:
                common["unit"] = "days from 2L start"
                columns.append(
                    Column(
                        _date_name(name),
                        "integer",
                        meaning,
                        allowed="whole days, negative before the 2L; blank without a 2L start",
                        deid="calendar date replaced by days from the patient's 2L start",
                        get=lambda ctx, r, n=name: deid.relative_day(getattr(r, n), ctx.index_date),
                        **common,
                    )
                )
            continue
        deid_text = "none (identified export)" if rule.decision == IDENTIFIER else ""
        if rule.decision == QUASI:
            deid_text = "quasi-identifier: counted in the re-identification risk summary (k)"
        if model_field.choices:
            choices = [(str(k), str(v)) for k, v in model_field.choices]
            allowed = "; ".join(f"{k}={v}" for k, v in choices)
            columns.append(
                Column(
                    name,
                    "code",
                    meaning,
                    allowed=allowed,
                    deid=deid_text,
                    choices=choices,
                    get=lambda ctx, r, n=name: getattr(r, n),
                    **common,
                )
            )
            labels = dict(choices)
            columns.append(
                Column(
                    f"{name}_label",
                    "label",
                    _("Label of %(column)s") % {"column": name},
                    allowed="the labels of " + name,
                    deid=deid_text,
                    get=lambda ctx, r, n=name, lab=labels: lab.get(getattr(r, n), ""),
                )
            )
            continue
        if isinstance(model_field, models.BooleanField):
            kind, allowed = "0/1", "0=No; 1=Yes"
        elif isinstance(model_field, models.DecimalField):
            kind, allowed = "number", _range_text(model_field)
        elif isinstance(model_field, models.IntegerField):
            kind, allowed = "integer", _range_text(model_field)
        elif isinstance(model_field, models.DateField):
            kind, allowed = "date", "YYYY-MM-DD"
        else:
            kind, allowed = "string", ""
        columns.append(
            Column(
                name,
                kind,
                meaning,
                allowed=allowed,
                deid=deid_text,
                get=lambda ctx, r, n=name: _cell_value(getattr(r, n)),
                **common,
            )
        )
    return columns


def _missing_code_column(name: str) -> Column:
    choices = [(str(k), str(v)) for k, v in c.MissingCode.choices]

    def get(ctx: PatientContext, record) -> str:
        return ((record.missing_codes or {}).get(name) or {}).get("code", "")

    return Column(
        f"{name}_missing",
        "code",
        _(
            "Why %(column)s has no value: a missing-data code given instead of it (blank when "
            "%(column)s has a value). Treated as missing by the analysis; the comment is not "
            "exported"
        )
        % {"column": name},
        allowed="; ".join(f"{k}={v}" for k, v in choices),
        choices=choices,
        get=get,
    )


def _with_missing_code_columns(model: type[models.Model], columns: list[Column]) -> list[Column]:
    """``columns`` with a ``<field>_missing`` column after each codable field's own columns
    (its value, and its label when it has one)."""
    codable = getattr(model, "codable_fields", frozenset())
    result: list[Column] = []
    for position, column in enumerate(columns):
        result.append(column)
        owner = column.field_name or column.name.removesuffix("_label")
        following = columns[position + 1].name if position + 1 < len(columns) else ""
        if owner in codable and following != f"{owner}_label":
            result.append(_missing_code_column(owner))
    return result


def _lead_columns(options: Options, repeating: bool) -> list[Column]:
    study_id_deid = (
        "none: the real study id (identified export)"
        if options.identified
        else "study id replaced by a keyed pseudonym (HMAC); the key stays on the server"
    )
    cols = [
        Column(
            "study_id",
            "string",
            _("Patient identifier in this export"),
            deid=study_id_deid,
            get=lambda ctx, r: ctx.study_id,
        ),
        Column(
            "center",
            "string",
            _("Centre (site) of the patient"),
            deid="quasi-identifier: counted in the risk summary; may be coarsened to 'centre A–F'",
            get=lambda ctx, r: ctx.center,
        ),
    ]
    if repeating:
        cols.append(
            Column(
                "instance",
                "integer",
                _("Record number within the patient, in date order (1, 2, …)"),
                allowed="1, 2, …",
            )
        )
    return cols


def _age_column(options: Options) -> Column:
    def get(ctx: PatientContext, patient: Patient):
        age = derived.age_in_years(patient.date_of_birth, patient.registration_date)
        return age if options.identified else deid.age_label(age)

    return Column(
        "age_years",
        "string" if not options.identified else "integer",
        _("Age at registration, completed years (derived from the date of birth)"),
        unit="years",
        allowed="integer; 90+ means 90 or older" if not options.identified else "integer",
        deid="" if options.identified else "date of birth dropped; ages over 89 shown as 90+",
        get=get,
    )


def tidy_tables(options: Options) -> list[Table]:
    tables = []
    for section, model, repeating in PARTS:
        columns = _lead_columns(options, repeating)
        if model is Patient:
            columns.append(_age_column(options))
        columns += _with_missing_code_columns(model, _model_columns(model, options))
        tables.append(Table(section, c.Section(section).label, section, model, repeating, columns))
    return tables


def records_of(book: Casebook, table: Table) -> list:
    model = table.model
    if model is Patient:
        return [book.patient]
    return section_records(book, model.section)


def table_rows(book: Casebook, table: Table, ctx: PatientContext) -> Iterator[list]:
    getters = table.getters
    for instance, record in enumerate(records_of(book, table), start=1):
        yield [instance if get is None else get(ctx, record) for get in getters]


# -- the analysis dataset (analysis-contract.md §1–2) --------------------------------------

# The meanings are lazy: English in the files, Chinese in label_zh_hans (exchange.writer).
ANALYSIS_PATIENT_COLUMNS: list[tuple[str, str, str, Any]] = [
    (
        "study_id",
        "string",
        "",
        gettext_lazy("Pseudonymous patient id (same as in the tidy tables)"),
    ),
    ("center", "string", "", gettext_lazy("Centre code (or 'centre A–F' when coarsened)")),
    (
        "age_years",
        "number",
        "years",
        gettext_lazy("Age at 2L start; 90 means 90 or older (top-coded)"),
    ),
    ("sex", "code", "", gettext_lazy("M=Male; F=Female")),
    ("smoking", "code", "", gettext_lazy("never / former / current")),
    ("bmi", "number", "kg/m²", gettext_lazy("Body-mass index at baseline")),
    ("ecog", "integer", "", gettext_lazy("ECOG performance status 0–4 at 2L start")),
    ("brain_mets", "0/1", "", gettext_lazy("Brain metastasis at baseline")),
    ("liver_mets", "0/1", "", gettext_lazy("Liver metastasis at baseline")),
    ("prior_thoracic_rt", "0/1", "", gettext_lazy("Consolidative thoracic RT during 1L")),
    ("l2_radiotherapy", "0/1", "", gettext_lazy("Radiotherapy with 2L")),
    ("l2_antiangiogenic", "0/1", "", gettext_lazy("Anti-angiogenic agent with 2L")),
    (
        "l1_pfs_months",
        "number",
        "months",
        gettext_lazy("1L start to 1L progression (days / 30.4375)"),
    ),
    (
        "dpr_pct",
        "number",
        "%",
        # xgettext:no-python-format
        gettext_lazy("Depth of response: max % shrinkage of the 1L target sum"),
    ),
    ("os_months", "number", "months", gettext_lazy("2L start to death or last known alive")),
    ("os_event", "0/1", "", gettext_lazy("1 = death, 0 = censored")),
    (
        "pfs_months",
        "number",
        "months",
        gettext_lazy("2L start to progression/death or last assessment"),
    ),
    ("pfs_event", "0/1", "", gettext_lazy("1 = progression or death, 0 = censored")),
    (
        "l2_best_response",
        "code",
        "",
        gettext_lazy(
            "RECIST 1.1 best overall response on the 2L: CR, PR, SD, PD or NE; blank = no 2L "
            "assessment"
        ),
    ),
]
ANALYSIS_AE_COLUMNS: list[tuple[str, str, str, Any]] = [
    ("study_id", "string", "", gettext_lazy("Pseudonymous patient id")),
    ("term", "code", "", gettext_lazy("CTCAE v5.0 term")),
    ("grade", "integer", "CTCAE grade", "1–5"),
    ("immune_related", "0/1", "", gettext_lazy("Immune-related adverse event")),
    ("onset_day", "integer", "days from 2L start", gettext_lazy("Onset, days from the 2L start")),
]


def analysis_patient_row(book: Casebook, ctx: PatientContext, options: Options) -> list | None:
    row = book.analysis_row()
    if row is None:
        return None
    # Contract §7: the column the engine's response statistics read (ORR, DCR).
    row["l2_best_response"] = book.l2_best_response()
    row["study_id"] = ctx.study_id
    row["center"] = ctx.center
    if not options.identified:
        row["age_years"] = float(deid.top_coded_age(row["age_years"]))
    return [row[name] for name, *_ in ANALYSIS_PATIENT_COLUMNS]


def analysis_ae_rows(book: Casebook, ctx: PatientContext) -> list[list]:
    rows = []
    for ae in book.adverse_event_rows():
        ae["study_id"] = ctx.study_id
        rows.append([ae[name] for name, *_ in ANALYSIS_AE_COLUMNS])
    return rows
