"""The XLSX template: download, fill, preview, commit; re-import is a no-op."""

from datetime import date

from exchange.models import ImportJob
from registry.models import Baseline, Patient
from tests import builders
from tests.exchange.imports.helpers import Workbook, commit, errors, preview, template


def test_prefilled_template_of_own_centre_reimports_unchanged(coordinator_a, tmp_path):
    patients = [builders.build_casebook(coordinator_a) for _ in range(2)]
    path = template(tmp_path / "t.xlsx", Patient.objects.filter(pk__in=[p.pk for p in patients]))
    job = preview(coordinator_a, path)
    assert job.status == ImportJob.Status.PREVIEWED, job.error
    assert errors(job) == []
    assert job.counts["patients_unchanged"] == 2
    assert job.counts["patients_updated"] == 0 and job.counts["patients_created"] == 0
    assert job.changes == []
    assert not job.can_commit


def test_changed_value_is_previewed_old_to_new_and_committed_with_reason(coordinator_a, tmp_path):
    patient = builders.build_casebook(coordinator_a)
    path = template(tmp_path / "t.xlsx", Patient.objects.filter(pk=patient.pk))
    book = Workbook(path)
    book.set("baseline", 0, "weight_kg", 71.5)
    book.save()
    job = preview(coordinator_a, path)
    assert errors(job) == []
    assert job.counts["patients_updated"] == 1
    assert job.changes[0]["fields"] == [["weight_kg", "65", "71.5"]]
    assert Baseline.objects.get(patient=patient).weight_kg == 65  # nothing written yet
    job = commit(coordinator_a, job)
    assert job.status == ImportJob.Status.DONE, job.error
    baseline = Baseline.objects.get(patient=patient)
    assert float(baseline.weight_kg) == 71.5
    latest = baseline.history.order_by("-history_date").first()
    assert latest.history_user == coordinator_a
    assert latest.history_change_reason == f"import t.xlsx sha256 {job.file_sha256}"


def test_new_patient_gets_a_registry_study_id(coordinator_a, tmp_path):
    path = template(tmp_path / "t.xlsx")
    book = Workbook(path)
    book.append(
        "registration",
        {
            "study_id": "HOSP-17",
            "mrn": "H123",
            "initials": "QX",
            "date_of_birth": date(1950, 1, 2),
            "sex": "Female",
            "registration_date": date(2021, 3, 2),
            **{k: int(v) for k, v in builders.ELIGIBLE.items()},
        },
    )
    book.save()
    job = preview(coordinator_a, path)
    assert errors(job) == [], job.problems
    assert job.counts["patients_created"] == 1
    job = commit(coordinator_a, job)
    assert job.status == ImportJob.Status.DONE, job.error
    patient = Patient.objects.get(mrn="H123")
    assert job.study_ids == {"HOSP-17": patient.study_id}
    assert patient.sex == "F" and patient.center == coordinator_a.center


def test_the_uploaded_file_is_deleted_once_imported(coordinator_a, tmp_path):
    from pathlib import Path

    patient = builders.build_casebook(coordinator_a)
    path = template(tmp_path / "t.xlsx", Patient.objects.filter(pk=patient.pk))
    book = Workbook(path)
    book.set("baseline", 0, "weight_kg", 66)
    book.save()
    job = preview(coordinator_a, path)
    assert Path(job.file_path).is_file()  # the commit reads it again
    job = commit(coordinator_a, job)
    assert job.status == ImportJob.Status.DONE
    assert not Path(job.file_path).exists()
    assert len(job.file_sha256) == 64
