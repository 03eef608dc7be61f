"""Which stored record a row changes: single parts the one record; repeating parts by
record number, else by date; nothing is deleted."""

from datetime import date

from exchange.models import ImportJob
from registry.models import Patient, TumourAssessment
from tests import builders
from tests.exchange.imports.helpers import Workbook, commit, errors, preview, template


def _filled(coordinator, tmp_path):
    patient = builders.build_casebook(coordinator)
    path = template(tmp_path / "t.xlsx", Patient.objects.filter(pk=patient.pk))
    return patient, path, Workbook(path)


def test_instance_number_picks_the_nth_record_in_date_order(coordinator_a, tmp_path):
    patient, path, book = _filled(coordinator_a, tmp_path)
    rows = book.rows("assessments")
    assert [r["instance"] for r in rows] == [1, 2]
    book.set("assessments", 1, "target_sum_mm", 55)
    book.save()
    job = commit(coordinator_a, preview(coordinator_a, path))
    assert job.status == ImportJob.Status.DONE, job.error
    sums = list(
        TumourAssessment.objects.filter(patient=patient)
        .order_by("assessment_date")
        .values_list("target_sum_mm", flat=True)
    )
    assert [float(s) for s in sums] == [100, 55]


def test_row_without_instance_matches_the_record_of_the_same_date_or_is_new(
    coordinator_a, tmp_path
):
    patient, path, book = _filled(coordinator_a, tmp_path)
    second = dict(book.rows("assessments")[1])
    for row in range(2):  # drop the instance numbers
        book.set("assessments", row, "instance", None)
    book.set("assessments", 1, "target_sum_mm", 58)  # same date: an update
    new = {**second, "instance": None, "assessment_date": date(2020, 5, 15), "target_sum_mm": 50}
    book.append("assessments", new)
    book.save()
    job = preview(coordinator_a, path)
    assert errors(job) == []
    assert job.counts["records_updated"] == 1 and job.counts["records_created"] == 1
    commit(coordinator_a, job)
    assert TumourAssessment.objects.filter(patient=patient).count() == 3


def test_a_record_the_file_leaves_out_is_kept(coordinator_a, tmp_path):
    patient, path, book = _filled(coordinator_a, tmp_path)
    book.book["assessments"].delete_rows(4)  # the second assessment's row
    book.save()
    job = preview(coordinator_a, path)
    assert errors(job) == [] and job.changes == []
    assert TumourAssessment.objects.filter(patient=patient).count() == 2


def test_two_rows_for_one_record_are_refused(coordinator_a, tmp_path):
    _patient, path, book = _filled(coordinator_a, tmp_path)
    first = dict(book.rows("assessments")[0])
    book.append("assessments", {**first, "instance": None})  # same date and line as #1
    book.save()
    job = preview(coordinator_a, path)
    assert [p["message"] for p in errors(job)] == [
        "Another row of this file already changes the same record."
    ]
