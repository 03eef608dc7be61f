"""Readers: a file in one of the three formats → ``Sheet`` rows with tidy column names.

A file that cannot be read at all (wrong type, damaged, not UTF-8, too large) raises
``UnreadableFile`` with a message for the user; a cell that is a formula is reported as
a problem of its row, and the rest of the file is still read so the preview shows all.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from exchange.cells import FORMULA_TRIGGERS
from exchange.imports.columns import INSTANCE, as_text, blank, layouts
from exchange.redcap import METS_CHECKBOX, PREFIX, SYSTEM_COLUMNS, RedcapLayout

FORMATS = ("xlsx", "csv-zip", "redcap")
# The template's second row (labels, units, allowed values) and any note row start so.
NOTE_MARK = "#"


class UnreadableFile(Exception):
    """The file as a whole cannot be read; nothing in it is imported."""


@dataclass
class Formula:
    sheet: str
    row: int
    column: str


@dataclass
class Sheet:
    name: str  # the CRF part (table) name
    label: str  # where the user finds it: the sheet or file name
    header: list[str]
    rows: list[tuple[int, Row]] = field(default_factory=list)


@dataclass
class ReadResult:
    sheets: dict[str, Sheet]
    formulas: list[Formula]


def detect_format(file_name: str) -> str:
    name = file_name.lower()
    if name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith(".zip"):
        return "csv-zip"
    if name.endswith(".csv"):
        return "redcap"
    raise UnreadableFile(
        _("%(name)s: unknown file type; give an .xlsx template, an export .zip or a REDCap .csv.")
        % {"name": file_name}
    )


def read(path: Path, file_format: str) -> ReadResult:
    if file_format == "xlsx":
        return _read_xlsx(path)
    if file_format == "csv-zip":
        return _read_csv_zip(path)
    if file_format == "redcap":
        return _read_redcap(path)
    raise UnreadableFile(
        _("Unknown format %(format)r; choose one of %(formats)s.")
        % {"format": file_format, "formats": ", ".join(FORMATS)}
    )


def _clean_header(values) -> list[str]:
    return [as_text(v) for v in values]


class Row:
    """One data row: its cells as a tuple, read by column name through the sheet's shared
    index (a dict per row cost about three times the memory at 10,000 patients)."""

    __slots__ = ("index", "cells")

    def __init__(self, index: dict[str, int], cells) -> None:
        self.index = index
        self.cells = tuple(cells)

    def get(self, name: str, default: Any = None) -> Any:
        position = self.index.get(name)
        if position is None or position >= len(self.cells):
            return default
        return self.cells[position]

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: str) -> bool:
        return name in self.index

    def as_dict(self) -> dict[str, Any]:
        return {name: self.get(name) for name in self.index}


def header_index(header: list[str]) -> dict[str, int]:
    """Column name → position (the first, where a name repeats: the plan reports that)."""
    index: dict[str, int] = {}
    for position, name in enumerate(header):
        if name:
            index.setdefault(name, position)
    return index


def _is_note(values) -> bool:
    return bool(values) and isinstance(values[0], str) and values[0].startswith(NOTE_MARK)


# -- XLSX (the template, or an export's xlsx/dataset.xlsx) -----------------------------------


def _read_xlsx(path: Path) -> ReadResult:
    from openpyxl import load_workbook

    if not zipfile.is_zipfile(path):
        raise UnreadableFile(_("The file is not an Excel workbook (.xlsx)."))
    handle = open(path, "rb")  # noqa: SIM115 - closed below; stored without an .xlsx suffix
    try:
        # read_only streams rows (flat memory at 10,000 patients); data_only=False keeps a
        # formula as its text so it is refused instead of silently taking a cached value.
        book = load_workbook(handle, read_only=True, data_only=False)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a bad file
        handle.close()
        raise UnreadableFile(
            _("The Excel workbook cannot be read (%(error)s).") % {"error": exc}
        ) from None
    sheets: dict[str, Sheet] = {}
    formulas: list[Formula] = []
    names = {layout.name for layout in layouts()}
    try:
        for worksheet in book.worksheets:
            if worksheet.title not in names:
                continue
            rows = worksheet.iter_rows(values_only=True)
            header_values = next(rows, None)
            if header_values is None:
                sheets[worksheet.title] = Sheet(worksheet.title, worksheet.title, [])
                continue
            header = _clean_header(header_values)
            index = header_index(header)
            sheet = Sheet(worksheet.title, worksheet.title, header)
            for number, values in enumerate(rows, start=2):
                if not values or all(blank(v) for v in values) or _is_note(values):
                    continue
                cells = []
                for i, value in enumerate(values):
                    if isinstance(value, str):
                        value, formula = _csv_cell(value)
                        if formula and i < len(header):
                            formulas.append(Formula(worksheet.title, number, header[i]))
                    cells.append(value)
                sheet.rows.append((number, Row(index, cells)))
            sheets[worksheet.title] = sheet
    finally:
        book.close()
        handle.close()
    return ReadResult(sheets, formulas)


# -- CSV (the export ZIP's tables/, or a REDCap records file) --------------------------------


def _decode(data: bytes, label: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(
            _("%(file)s is not UTF-8 text (byte %(position)d); save it as CSV UTF-8.")
            % {"file": label, "position": exc.start}
        ) from None


def _csv_cell(text: str) -> tuple[Any, bool]:
    """(value, is a formula): the export's neutralised "'=…" is given back as "=…" text."""
    if text[:1] == "'" and text[1:2] in FORMULA_TRIGGERS:
        return text[1:], False
    return (text or None), text.startswith("=")


def _csv_rows(text: str, label: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for values in reader:
            yield reader.line_num, values
    except csv.Error as exc:
        raise UnreadableFile(
            _("%(file)s is not valid CSV (%(error)s).") % {"file": label, "error": exc}
        ) from None


def _read_csv(name: str, label: str, text: str, formulas: list[Formula]) -> Sheet:
    rows = _csv_rows(text, label)
    first = next(rows, None)
    header = _clean_header(first[1]) if first else []
    index = header_index(header)
    sheet = Sheet(name, label, header)
    for number, raw in rows:
        if not raw or all(not v.strip() for v in raw) or raw[0].startswith(NOTE_MARK):
            continue
        values = []
        for i, text_value in enumerate(raw):
            value, formula = _csv_cell(text_value)
            if formula and i < len(header):
                formulas.append(Formula(label, number, header[i]))
            values.append(value)
        sheet.rows.append((number, Row(index, values)))
    return sheet


def _open_zip(path: Path) -> zipfile.ZipFile:
    if not zipfile.is_zipfile(path):
        raise UnreadableFile(_("The file is not a ZIP archive (an export's .zip)."))
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise UnreadableFile(
            _("The ZIP archive is damaged (%(error)s).") % {"error": exc}
        ) from None


def _read_csv_zip(path: Path) -> ReadResult:
    sheets: dict[str, Sheet] = {}
    formulas: list[Formula] = []
    with _open_zip(path) as archive:
        members = set(archive.namelist())
        for layout in layouts():
            member = next(
                (m for m in (f"tables/{layout.name}.csv", f"{layout.name}.csv") if m in members),
                None,
            )
            if member is None:
                continue
            text = _decode(archive.read(member), member)
            sheets[layout.name] = _read_csv(layout.name, member, text, formulas)
    return ReadResult(sheets, formulas)


def _read_redcap(path: Path) -> ReadResult:
    """REDCap flat records (the export's redcap/records.csv, alone or inside its ZIP) →
    one sheet per CRF part in the tidy layout: numeric choice codes back to the registry's
    codes, the metastasis checkbox back to its five yes/no fields, the DAG to the centre."""
    if zipfile.is_zipfile(path):
        with _open_zip(path) as archive:
            if "redcap/records.csv" not in archive.namelist():
                raise UnreadableFile(_("The ZIP has no redcap/records.csv."))
            label = "redcap/records.csv"
            text = _decode(archive.read(label), label)
    else:
        label = "records.csv"
        text = _decode(path.read_bytes(), label)
    formulas: list[Formula] = []
    source = _read_csv("records", label, text, formulas)
    if "record_id" not in source.header:
        raise UnreadableFile(
            _("%(file)s is not a REDCap records export: it has no record_id column.")
            % {"file": label}
        )
    redcap = RedcapLayout([layout.table for layout in layouts()])
    given = set(source.header)
    sheets: dict[str, Sheet] = {}
    for layout in layouts():
        table = layout.table
        header = ["study_id", "center"] + ([INSTANCE] if layout.repeating else [])
        plan = []
        for _table, column, name in redcap._fields_of(table):
            if name not in given:
                continue  # reported as a missing column by the plan, never read as blank
            header.append(column.name)
            decode = None
            if column.type == "code":
                decode = dict(enumerate((code for code, _l in column.choices), 1))
            plan.append((column.name, name, decode))
        if layout.name == "baseline":
            header += [
                name
                for i, (name, _label) in enumerate(METS_CHECKBOX, 1)
                if f"bl_mets___{i}" in given
            ]
        sheet = Sheet(layout.name, f"{label} ({PREFIX[layout.name]}_…)", header)
        index = header_index(header)
        present = [name for name in header[2:] if name != INSTANCE]
        for number, row in source.rows:
            instrument = as_text(row.get("redcap_repeat_instrument"))
            if layout.repeating != (instrument == layout.name):
                continue
            values: dict[str, Any] = {
                "study_id": row.get("record_id"),
                "center": as_text(row.get("redcap_data_access_group")).upper() or None,
            }
            if layout.repeating:
                values[INSTANCE] = row.get("redcap_repeat_instance")
            for column_name, name, decode in plan:
                value = row.get(name)
                if decode is not None and not blank(value):
                    key = as_text(value)
                    value = decode.get(int(key), value) if key.isdigit() else value
                values[column_name] = value
            if layout.name == "baseline":
                for i, (name, _label) in enumerate(METS_CHECKBOX, 1):
                    if f"bl_mets___{i}" in given:
                        values[name] = row.get(f"bl_mets___{i}")
            if all(blank(values.get(name)) for name in present):
                continue  # this record has nothing of this instrument
            sheet.rows.append((number, Row(index, (values.get(name) for name in header))))
        sheets[layout.name] = sheet
    # Columns the layout does not know (beyond REDCap's own) are reported by the plan.
    known = set(SYSTEM_COLUMNS) | set(redcap.header)
    extra = [name for name in source.header if name and name not in known]
    if extra:
        sheets["registration"].header += extra
    return ReadResult(sheets, formulas)
