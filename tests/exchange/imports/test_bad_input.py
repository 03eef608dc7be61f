"""Every kind of bad input: a clear message, nothing written."""

import io
import zipfile
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core.errors import ApplicationError
from exchange.imports import services
from exchange.models import ImportJob
from registry.models import Baseline, Patient
from tests import builders
from tests.exchange.imports.helpers import Workbook, errors, preview, template


@pytest.fixture
def casebook(coordinator_a):
    return builders.build_casebook(coordinator_a)


@pytest.fixture
def filled(casebook, tmp_path):
    return template(tmp_path / "filled.xlsx", Patient.objects.filter(pk=casebook.pk))


def _messages(job) -> list[str]:
    return [f"{p['sheet']}|{p['row']}|{p['column']}|{p['message']}" for p in errors(job)]


def test_wrong_file_type_is_refused_before_anything_is_kept(coordinator_a):
    with pytest.raises(ApplicationError, match="unknown file type"):
        services.import_request(
            user=coordinator_a, file=io.BytesIO(b"hello"), file_name="notes.docx", enqueue=False
        )
    assert ImportJob.objects.count() == 0


def test_a_text_file_named_xlsx_is_unreadable(coordinator_a, tmp_path):
    path = tmp_path / "fake.xlsx"
    path.write_bytes(b"study_id,center\n")
    job = preview(coordinator_a, path)
    assert job.status == ImportJob.Status.FAILED and job.unreadable
    assert "not an Excel workbook" in job.error


def test_file_over_the_size_limit_is_refused(coordinator_a, settings):
    settings.IMPORT_MAX_BYTES = 1024
    with pytest.raises(ApplicationError, match="larger than the limit of 1024 bytes"):
        services.import_request(
            user=coordinator_a, file=io.BytesIO(b"x" * 2000), file_name="a.csv", enqueue=False
        )
    assert ImportJob.objects.count() == 0


def test_missing_sheet_and_missing_column_are_named(coordinator_a, filled):
    book = Workbook(filled)
    del book.book["follow_up"]
    book.book["baseline"].delete_cols(book.header("baseline").index("weight_kg") + 1)
    book.save()
    job = preview(coordinator_a, filled)
    found = _messages(job)
    assert "follow_up|None||The sheet (or table) follow_up is missing." in found
    assert "baseline|None|weight_kg|The column weight_kg is missing from baseline." in found
    assert not job.can_commit


def test_unknown_column_is_a_warning_only(coordinator_a, filled):
    book = Workbook(filled)
    book.book["baseline"].cell(row=1, column=len(book.header("baseline")) + 1, value="shoe_size")
    book.save()
    job = preview(coordinator_a, filled)
    assert errors(job) == []
    warnings = [p for p in job.problems if p["severity"] == "warning"]
    assert warnings[0]["column"] == "shoe_size"
    assert "Unknown column shoe_size" in warnings[0]["message"]


def test_bad_date_bad_choice_and_range_are_reported_by_cell(coordinator_a, filled, casebook):
    book = Workbook(filled)
    book.set("baseline", 0, "diagnosis_date", "31/02/2020")
    book.set("baseline", 0, "smoking", "sometimes")
    book.set("baseline", 0, "height_cm", 20)
    book.save()
    job = preview(coordinator_a, filled)
    found = _messages(job)
    assert any(m.startswith("baseline|3|diagnosis_date|'31/02/2020' is not a date") for m in found)
    assert any(
        m.startswith("baseline|3|smoking|'sometimes' is not one of the allowed") for m in found
    )
    # The range comes from the model's own validators (the form's message).
    assert "baseline|3|height_cm|Ensure this value is greater than or equal to 100." in found
    assert Baseline.objects.get(patient=casebook).height_cm == 170


def test_cross_part_rule_is_reported_with_the_rules_message(coordinator_a, filled):
    book = Workbook(filled)
    book.set("first_line", 0, "start_date", date(2019, 1, 1))  # before the diagnosis
    book.save()
    job = preview(coordinator_a, filled)
    assert (
        "first_line|3|start_date|Atezolizumab start date must not be before the diagnosis date "
        "(10 Jan 2020)." in _messages(job)
    )


def test_duplicate_study_id_in_a_single_part_sheet(coordinator_a, filled):
    book = Workbook(filled)
    book.append("baseline", book.rows("baseline")[0])
    book.save()
    job = preview(coordinator_a, filled)
    assert any("Duplicate" in m and m.startswith("baseline|4|study_id") for m in _messages(job))


def test_formula_in_a_cell_is_refused(coordinator_a, filled):
    book = Workbook(filled)
    book.set("baseline", 0, "weight_kg", "=60+5")
    book.save()
    job = preview(coordinator_a, filled)
    assert "baseline|3|weight_kg|The cell holds a formula; enter its value instead." in _messages(
        job
    )


def test_non_utf8_csv_is_unreadable(coordinator_a, tmp_path):
    path = tmp_path / "export.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(
            "tables/registration.csv", "study_id,center,notes\nA,AAA,caf\xe9\n".encode("latin-1")
        )
    job = preview(coordinator_a, path)
    assert job.unreadable
    assert "tables/registration.csv is not UTF-8 text" in job.error


def test_cli_exit_codes(coordinator_a, filled, tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("no")
    with pytest.raises(CommandError) as unreadable:
        call_command("import_casebooks", str(bad), user=coordinator_a.username)
    assert unreadable.value.returncode == 2
    book = Workbook(filled)
    book.set("baseline", 0, "height_cm", 20)
    book.save()
    with pytest.raises(CommandError) as problems:
        call_command("import_casebooks", str(filled), user=coordinator_a.username)
    assert problems.value.returncode == 1
    out = io.StringIO()
    book.set("baseline", 0, "height_cm", 171)
    book.save()
    call_command(
        "import_casebooks", str(filled), user=coordinator_a.username, dry_run=True, stdout=out
    )
    assert "patients: 0 created, 1 updated, 0 unchanged, 0 invalid" in out.getvalue()
    assert "dry run: nothing written" in out.getvalue()
    assert Baseline.objects.get().height_cm == 170
    call_command("import_casebooks", str(filled), user=coordinator_a.username, stdout=out)
    assert Baseline.objects.get().height_cm == 171


def test_redcap_file_without_a_field_column_names_it_and_blanks_nothing(coordinator_a, tmp_path):
    from exchange.imports.columns import layouts
    from exchange.redcap import RedcapLayout

    header = RedcapLayout([layout.table for layout in layouts()]).header
    header = [name for name in header if name != "bl_weight_kg"]
    path = tmp_path / "records.csv"
    path.write_text(",".join(header) + "\n", encoding="utf-8")
    job = preview(coordinator_a, path)
    assert any(
        p["column"] == "weight_kg" and "The column weight_kg is missing" in p["message"]
        for p in errors(job)
    )
