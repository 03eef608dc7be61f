"""The import's sheets and columns, read from the export's own table definitions.

An identified export's tidy tables (``exchange.tables.tidy_tables``) are the import
layout: one sheet per CRF part named like the table, the same column names, the codes of
choice fields and real calendar dates. Columns that the registry derives (age, enrolment
status, casebook status) and the ``<field>_label`` columns are accepted and ignored, so an
export can be brought back unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _

from exchange.tables import Options, Table, tidy_tables
from registry import choices as c
from registry.models import Patient
from registry.services import REGISTRATION_EDITABLE

LEAD = ("study_id", "center")
INSTANCE = "instance"
MISSING_SUFFIX = "_missing"


@dataclass(frozen=True)
class FieldColumn:
    """One importable column: a model field of a CRF part."""

    name: str
    model_field: models.Field
    choices: tuple[tuple[str, str], ...] = ()

    @property
    def field_name(self) -> str:
        return self.model_field.name


@dataclass
class SheetLayout:
    name: str  # the sheet / table name, e.g. "baseline"
    section: str
    model: type[models.Model]
    repeating: bool
    fields: list[FieldColumn]
    codable: frozenset[str]
    ignored: frozenset[str]  # known columns the import reads past (labels, derived values)
    table: Table = field(repr=False, default=None)

    @property
    def required_columns(self) -> list[str]:
        return [*LEAD, *(f.name for f in self.fields)]

    @property
    def missing_columns(self) -> list[str]:
        return [f"{name}{MISSING_SUFFIX}" for name in sorted(self.codable)]

    @property
    def known_columns(self) -> set[str]:
        known = {*LEAD, *(f.name for f in self.fields), *self.missing_columns, *self.ignored}
        if self.repeating:
            known.add(INSTANCE)
        return known

    def template_columns(self) -> list[str]:
        """The template's columns in table order: lead, fields, each code after its field."""
        out = list(LEAD) + ([INSTANCE] if self.repeating else [])
        fields = {f.name for f in self.fields}
        for column in self.table.columns:
            if column.name in fields:
                out.append(column.name)
                if column.name in self.codable:
                    out.append(f"{column.name}{MISSING_SUFFIX}")
        return out


def _editable(model: type[models.Model], name: str) -> bool:
    if model is Patient:
        return name in REGISTRATION_EDITABLE
    model_field = model._meta.get_field(name)
    return model_field.editable and name not in ("id", "patient", "missing_codes")


@cache
def layouts() -> tuple[SheetLayout, ...]:
    """One layout per CRF part, in casebook order."""
    out = []
    for table in tidy_tables(Options(identified=True)):
        model = table.model
        fields: list[FieldColumn] = []
        ignored: set[str] = set()
        for column in table.columns:
            if column.name in (*LEAD, INSTANCE) or column.name.endswith(MISSING_SUFFIX):
                continue
            if column.model is not None and _editable(model, column.field_name):
                model_field = model._meta.get_field(column.field_name)
                choices = tuple((str(k), str(v)) for k, v in model_field.choices or ())
                fields.append(FieldColumn(column.name, model_field, choices))
            else:
                ignored.add(column.name)
        codable = frozenset(getattr(model, "codable_fields", frozenset()))
        out.append(
            SheetLayout(
                name=table.name,
                section=table.section,
                model=model,
                repeating=table.repeating,
                fields=fields,
                codable=codable,
                ignored=frozenset(ignored),
                table=table,
            )
        )
    return tuple(out)


def layout_by_name() -> dict[str, SheetLayout]:
    return {layout.name: layout for layout in layouts()}


class CellError(ValueError):
    """A cell that cannot be read as its field's type; the message names the rule."""


_TRUE = {"1", "yes", "y", "true", "t"}
_FALSE = {"0", "no", "n", "false", "f"}


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def as_text(value: Any) -> str:
    """A cell as text: whole numbers without '.0' (an MRN typed as a number stays 12345)."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _choice(column: FieldColumn, value: Any) -> str:
    text = as_text(value)
    codes = {code for code, _label in column.choices}
    if text in codes:
        return text
    folded = text.casefold()
    for code, label in column.choices:
        if folded in (code.casefold(), label.casefold()):
            return code
    allowed = "; ".join(f"{code} ({label})" for code, label in column.choices)
    raise CellError(
        _("%(value)r is not one of the allowed values (a code or its label): %(allowed)s.")
        % {"value": text, "allowed": allowed}
    )


def parse_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = as_text(value)
    try:
        return date.fromisoformat(text[:10]) if len(text) in (10, 19) else date.fromisoformat(text)
    except ValueError:
        raise CellError(
            _("%(value)r is not a date: use YYYY-MM-DD or a date cell.") % {"value": text}
        ) from None


def parse(column: FieldColumn, value: Any) -> Any:
    """The cell as the field's Python value (None / '' when blank); CellError if unreadable.

    Ranges, required fields and every other rule are left to the model's validation.
    """
    model_field = column.model_field
    if blank(value):
        if isinstance(model_field, models.CharField | models.TextField):
            return ""
        return None
    if column.choices:
        return _choice(column, value)
    if isinstance(model_field, models.BooleanField):
        if isinstance(value, bool):
            return value
        text = as_text(value).casefold()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise CellError(_("%(value)r is not yes/no: use 1 or 0 (yes or no).") % {"value": value})
    if isinstance(model_field, models.DateField):
        return parse_date(value)
    if isinstance(model_field, models.DecimalField):
        try:
            number = Decimal(as_text(value))
        except InvalidOperation:
            raise CellError(_("%(value)r is not a number.") % {"value": value}) from None
        if not number.is_finite():
            raise CellError(_("%(value)r is not a number.") % {"value": value})
        return number
    if isinstance(model_field, models.IntegerField):
        text = as_text(value)
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise CellError(_("%(value)r is not a whole number.") % {"value": value}) from None
        if not number.is_finite() or number != number.to_integral_value():
            raise CellError(_("%(value)r is not a whole number.") % {"value": value})
        return int(number)
    try:
        return model_field.to_python(as_text(value))
    except ValidationError as error:
        raise CellError(" ".join(error.messages)) from None


def parse_missing_code(value: Any) -> str:
    text = as_text(value)
    if not text:
        return ""
    for code, label in c.MissingCode.choices:
        if text.casefold() in (str(code).casefold(), str(label).casefold()):
            return str(code)
    raise CellError(
        _("%(value)r is not a missing-data code: use %(codes)s.")
        % {"value": text, "codes": ", ".join(c.MissingCode.values)}
    )


def cell_display(value: Any) -> str:
    """A value as the preview shows it (old → new)."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
