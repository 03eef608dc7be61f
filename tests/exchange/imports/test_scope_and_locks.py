"""Who imports where; locked casebooks; all-or-nothing and --skip-invalid-patients;
re-import of the same file writes nothing."""

from datetime import date

import pytest

from exchange.models import ImportJob
from registry.models import AuditEvent, Baseline, Patient
from tests import builders
from tests.exchange.imports.helpers import Workbook, commit, errors, preview, template
from tests.factories import TEST_PASSWORD


def _new_patient_row(study_id: str, center: str = "", **overrides) -> dict:
    row = {
        "study_id": study_id,
        "center": center,
        "mrn": f"M-{study_id}",
        "initials": "QX",
        "date_of_birth": date(1950, 1, 2),
        "sex": "M",
        "registration_date": date(2021, 3, 2),
        **{k: int(v) for k, v in builders.ELIGIBLE.items()},
    }
    row.update(overrides)
    return row


def _history_rows() -> int:
    return sum(model.history.count() for model in (Patient, Baseline)) + AuditEvent.objects.count()


def test_coordinator_rows_for_another_centre_are_errors(coordinator_a, center_b, tmp_path):
    path = template(tmp_path / "t.xlsx")
    book = Workbook(path)
    book.append("registration", _new_patient_row("X1", center_b.code))
    book.save()
    job = preview(coordinator_a, path)
    assert [p["column"] for p in errors(job)] == ["center"]
    assert "own centre (AAA) only; this row is for BBB" in errors(job)[0]["message"]
    assert not job.can_commit


def test_coordinator_cannot_update_another_centres_patient(coordinator_a, coordinator_b, tmp_path):
    foreign = builders.build_casebook(coordinator_b)
    path = template(tmp_path / "t.xlsx", Patient.objects.filter(pk=foreign.pk))
    job = preview(coordinator_a, path)
    assert any(
        f"No patient {foreign.study_id} at a centre you may import into." == p["message"]
        for p in errors(job)
    )


def test_data_manager_imports_for_any_centre_through_the_centre_column(
    data_manager, center_a, center_b, tmp_path
):
    path = template(tmp_path / "t.xlsx")
    book = Workbook(path)
    book.append("registration", _new_patient_row("X1", center_a.code))
    book.append("registration", _new_patient_row("X2", center_b.code))
    book.append("registration", _new_patient_row("X3"))
    book.save()
    job = preview(data_manager, path)
    assert [(p["study_id"], p["column"]) for p in errors(job)] == [("X3", "center")]
    assert job.counts["patients_invalid"] == 1 and job.counts["patients_created"] == 2
    job = preview(data_manager, path, skip_invalid_patients=True)
    job = commit(data_manager, job)
    assert job.status == ImportJob.Status.DONE, job.error
    assert sorted(Patient.objects.values_list("center__code", "mrn")) == [
        ("AAA", "M-X1"),
        ("BBB", "M-X2"),
    ]


def test_pi_may_not_import(pi_user, tmp_path):
    from core.errors import ApplicationError

    with pytest.raises(ApplicationError, match="may read but not import"):
        preview(pi_user, template(tmp_path / "t.xlsx"))


def test_all_or_nothing_by_default(coordinator_a, tmp_path):
    path = template(tmp_path / "t.xlsx")
    book = Workbook(path)
    book.append("registration", _new_patient_row("GOOD"))
    book.append("registration", _new_patient_row("BAD", date_of_birth=date(2015, 1, 1)))
    book.save()
    job = preview(coordinator_a, path)
    assert job.counts["patients_created"] == 1 and job.counts["patients_invalid"] == 1
    assert [p["study_id"] for p in errors(job)] == ["BAD"]
    assert "at least 18" in errors(job)[0]["message"]
    assert not job.can_commit
    from core.errors import ApplicationError
    from exchange.imports import services

    with pytest.raises(ApplicationError, match="found problems"):
        services.import_commit_request(user=coordinator_a, job_id=job.pk, enqueue=False)
    assert Patient.objects.count() == 0


def test_skip_invalid_patients_imports_the_others(coordinator_a, tmp_path):
    path = template(tmp_path / "t.xlsx")
    book = Workbook(path)
    book.append("registration", _new_patient_row("GOOD"))
    book.append("registration", _new_patient_row("BAD", date_of_birth=date(2015, 1, 1)))
    book.save()
    job = commit(coordinator_a, preview(coordinator_a, path, skip_invalid_patients=True))
    assert job.status == ImportJob.Status.DONE, job.error
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["M-GOOD"]
    assert list(job.study_ids) == ["GOOD"]


def test_reimport_of_the_same_file_writes_nothing(coordinator_a, tmp_path):
    path = template(tmp_path / "t.xlsx")
    book = Workbook(path)
    book.append("registration", _new_patient_row("NEW1"))
    book.save()
    first = commit(coordinator_a, preview(coordinator_a, path))
    assert first.status == ImportJob.Status.DONE
    # The file names the patient by its provisional id; bring it back by its registry id.
    real = first.study_ids["NEW1"]
    book.set("registration", 0, "study_id", real)
    book.save()
    before = _history_rows()
    again = preview(coordinator_a, path)
    assert errors(again) == []
    assert again.counts["patients_unchanged"] == 1 and again.changes == []
    assert not again.can_commit
    assert _history_rows() == before


def test_locked_casebook_is_a_conflict_and_never_changed(coordinator_a, investigator_a, tmp_path):
    patient = builders.build_casebook(coordinator_a, complete=True)
    builders.lock_casebook(patient, investigator_a, TEST_PASSWORD)
    path = template(tmp_path / "t.xlsx", Patient.objects.filter(pk=patient.pk))
    unchanged = preview(coordinator_a, path)
    assert unchanged.problems == [] and unchanged.counts["patients_unchanged"] == 1
    book = Workbook(path)
    book.set("baseline", 0, "weight_kg", 80)
    book.save()
    job = preview(coordinator_a, path, skip_invalid_patients=True)
    conflicts = [p for p in job.problems if p["severity"] == "conflict"]
    assert len(conflicts) == 1 and "is locked and read-only" in conflicts[0]["message"]
    assert conflicts[0]["sheet"] == "baseline" and conflicts[0]["row"] == 3
    assert not job.can_commit  # nothing else to write
    assert Baseline.objects.get(patient=patient).weight_kg == 65


def test_commit_refuses_when_the_registry_changed_since_the_preview(coordinator_a, tmp_path):
    from registry import services as registry_services

    patient = builders.build_casebook(coordinator_a)
    path = template(tmp_path / "t.xlsx", Patient.objects.filter(pk=patient.pk))
    book = Workbook(path)
    book.set("baseline", 0, "weight_kg", 70)
    book.save()
    job = preview(coordinator_a, path)
    baseline = Baseline.objects.get(patient=patient)
    registry_services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="baseline",
        data={"weight_kg": 66},
        record_id=baseline.pk,
        expected_version=baseline.version,
    )
    job = commit(coordinator_a, job)
    assert job.status == ImportJob.Status.FAILED
    assert "changed since the preview" in job.error
    assert Baseline.objects.get(patient=patient).weight_kg == 66


def test_missing_data_codes_are_imported_with_a_comment(coordinator_a, tmp_path):
    patient = builders.build_casebook(coordinator_a)
    path = template(tmp_path / "t.xlsx", Patient.objects.filter(pk=patient.pk))
    book = Workbook(path)
    book.set("baseline", 0, "ecog", None)
    book.set("baseline", 0, "ecog_missing", "Unknown")
    book.save()
    job = preview(coordinator_a, path)
    assert errors(job) == []
    assert job.changes[0]["fields"] == [["ecog", "1", ""], ["ecog_missing", "", "unknown"]]
    commit(coordinator_a, job)
    baseline = Baseline.objects.get(patient=patient)
    assert baseline.ecog is None
    assert baseline.missing_codes == {
        "ecog": {"code": "unknown", "comment": "Imported from t.xlsx"}
    }


def test_a_patient_with_a_duplicate_row_is_skipped_whole(coordinator_a, tmp_path):
    path = template(tmp_path / "t.xlsx")
    book = Workbook(path)
    book.append("registration", _new_patient_row("GOOD"))
    book.append("registration", _new_patient_row("TWICE"))
    baseline = {"study_id": "TWICE", **builders.baseline()}
    baseline.update({k: int(v) for k, v in baseline.items() if isinstance(v, bool)})
    book.append("baseline", baseline)
    book.append("baseline", baseline)
    book.save()
    job = preview(coordinator_a, path, skip_invalid_patients=True)
    assert [(p["study_id"], p["row"]) for p in errors(job)] == [("TWICE", 4)]
    assert job.counts["patients_invalid"] == 1 and job.counts["patients_created"] == 1
    commit(coordinator_a, job)
    assert list(Patient.objects.values_list("mrn", flat=True)) == ["M-GOOD"]
