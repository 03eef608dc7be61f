"""The registry's XLSX import template: one sheet per CRF part, empty or pre-filled.

Row 1 holds the column (field) names the import reads; row 2 starts with '#' and gives
each column's label, unit and allowed values (the import skips it); data start in row 3.
Choice, yes/no and missing-data columns get Excel drop-down lists (from a hidden 'lists'
sheet, since Excel limits an inline list to 255 characters). Written in openpyxl's
write-only mode, so a pre-filled template of a large centre streams.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from exchange.cells import neutralise
from exchange.imports.columns import INSTANCE, LEAD, MISSING_SUFFIX, SheetLayout, layouts
from exchange.records import load_casebook_rows
from exchange.tables import PatientContext, table_rows
from registry import choices as c
from registry.models import Patient

DATA_FIRST_ROW = 3
VALIDATED_ROWS = 20_000


def _describe(layout: SheetLayout, name: str) -> str:
    if name == "study_id":
        return _("# Study id (a new patient: any id not in the registry; it gets a real one)")
    if name == "center":
        return _("Centre code")
    if name == INSTANCE:
        return _("Record number 1, 2, … (blank: a new record, or the one of the same date)")
    if name.endswith(MISSING_SUFFIX):
        field_name = name[: -len(MISSING_SUFFIX)]
        codes = "; ".join(f"{k}={v}" for k, v in c.MissingCode.choices)
        return _("Why %(field)s is empty: %(codes)s") % {"field": field_name, "codes": codes}
    column = next(f for f in layout.fields if f.name == name)
    model_field = column.model_field
    text = str(model_field.verbose_name)
    text = text[:1].upper() + text[1:]
    if model_field.help_text:
        text += f". {model_field.help_text}"
    if column.choices:
        text += " [" + "; ".join(f"{k}={v}" for k, v in column.choices) + "]"
    elif model_field.get_internal_type() == "BooleanField":
        text += " [1=yes; 0=no]"
    elif model_field.get_internal_type() == "DateField":
        text += " [YYYY-MM-DD]"
    return text


def _list_values(layout: SheetLayout, name: str) -> list[str] | None:
    if name.endswith(MISSING_SUFFIX):
        return [str(v) for v in c.MissingCode.values]
    column = next((f for f in layout.fields if f.name == name), None)
    if column is None:
        return None
    if column.choices:
        return [code for code, _label in column.choices]
    if column.model_field.get_internal_type() == "BooleanField":
        return ["1", "0"]
    return None


def _rows_of(patients: QuerySet[Patient], chunk: int = 1000) -> Iterable[tuple[str, list]]:
    """(table name, template row) of every record of ``patients``, identified, in order."""
    layout_list = layouts()
    positions = {
        layout.name: [layout.table.header.index(n) for n in layout.template_columns()]
        for layout in layout_list
    }
    pks = list(patients.order_by("study_id").values_list("pk", flat=True))
    for start in range(0, len(pks), chunk):
        books = load_casebook_rows(pks[start : start + chunk])
        for pk in pks[start : start + chunk]:
            book = books[pk]
            ctx = PatientContext(
                study_id=book.patient.study_id,
                center=book.patient.center.code,
                index_date=book.index_date,
                shift=0,
            )
            for layout in layout_list:
                for values in table_rows(book, layout.table, ctx):
                    yield layout.name, [values[i] for i in positions[layout.name]]


def write_template(out: Path, patients: QuerySet[Patient] | None = None) -> None:
    """The template at ``out``; with ``patients``, pre-filled with their current data."""
    book = Workbook(write_only=True)
    about = book.create_sheet("about")
    for line in (
        _("ES-SCLC registry import template"),
        _(
            "One sheet per CRF part; repeating parts (assessments, adverse events, follow-up) "
            "have one row per record."
        ),
        _(
            "Row 1: column names (do not change them). Row 2 (starting with #): meaning, unit "
            "and allowed values. Data from row 3."
        ),
        _(
            "Choice fields take a code or its label; yes/no fields 1/0 or yes/no; dates "
            "YYYY-MM-DD or date cells. Formulas are refused: enter values."
        ),
        _(
            "A field left empty for a reason: put not_done, unknown or not_applicable in its "
            "<field>_missing column."
        ),
    ):
        about.append([line])
    lists = book.create_sheet("lists")
    lists.sheet_state = "hidden"
    list_columns: dict[tuple[str, ...], str] = {}
    sheets = {}
    bold = Font(bold=True)
    grey = PatternFill("solid", fgColor="EEEEEE")
    for layout in layouts():
        sheet = book.create_sheet(layout.name)
        columns = layout.template_columns()
        for position, name in enumerate(columns, start=1):
            values = _list_values(layout, name)
            if not values:
                continue
            key = tuple(values)
            if key not in list_columns:
                list_columns[key] = get_column_letter(len(list_columns) + 1)
            letter = get_column_letter(position)
            validation = DataValidation(
                type="list",
                formula1=f"lists!${list_columns[key]}$1:${list_columns[key]}${len(values)}",
                allow_blank=True,
                showErrorMessage=False,  # labels are accepted too; the import checks
            )
            validation.add(f"{letter}{DATA_FIRST_ROW}:{letter}{VALIDATED_ROWS}")
            sheet.data_validations.append(validation)
        header = []
        for name in columns:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            header.append(cell)
        sheet.append(header)
        notes = []
        for name in columns:
            cell = WriteOnlyCell(sheet, value=_describe(layout, name))
            cell.fill = grey
            notes.append(cell)
        sheet.append(notes)
        sheets[layout.name] = sheet
    width = max((len(k) for k in list_columns), default=0)
    for row in range(width):
        lists.append([key[row] if row < len(key) else None for key in list_columns])
    if patients is not None:
        for name, values in _rows_of(patients):
            sheets[name].append([neutralise(v) for v in values])
    book.save(out)


def template_columns() -> dict[str, list[str]]:
    return {layout.name: layout.template_columns() for layout in layouts()}


__all__ = ["LEAD", "template_columns", "write_template"]
