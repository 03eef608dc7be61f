"""The import API and pages: upload → preview → commit through the same services; a job
is its owner's (anyone else, e.g. another centre's coordinator, gets 404)."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from exchange.imports import services
from exchange.models import ImportJob
from registry.models import Baseline, Patient
from tests import builders
from tests.api_support import assert_error, token_client
from tests.exchange.imports.helpers import Workbook, preview, template

IMPORTS = reverse("api:import-list")


@pytest.fixture
def edited(coordinator_a, tmp_path):
    patient = builders.build_casebook(coordinator_a)
    path = template(tmp_path / "edited.xlsx", Patient.objects.filter(pk=patient.pk))
    book = Workbook(path)
    book.set("baseline", 0, "weight_kg", 72)
    book.save()
    return patient, path


def _upload(client, path, **extra):
    with open(path, "rb") as handle:
        return client.post(IMPORTS, {"file": handle, **extra}, format="multipart")


def test_api_upload_previews_and_commit_writes(
    coordinator_a, edited, django_capture_on_commit_callbacks
):
    patient, path = edited
    client = token_client(coordinator_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = _upload(client, path)
    assert response.status_code == 202, response.content
    body = client.get(response["Location"]).json()
    assert body["status"] == "previewed"
    assert body["counts"]["patients_updated"] == 1
    assert body["changes"][0]["fields"] == [["weight_kg", "65", "72"]]
    assert body["commit_url"] == reverse("api:import-commit", args=[body["id"]])
    with django_capture_on_commit_callbacks(execute=True):
        committed = client.post(body["commit_url"])
    assert committed.status_code == 202, committed.content
    assert client.get(response["Location"]).json()["status"] == "done"
    assert Baseline.objects.get(patient=patient).weight_kg == 72


def test_api_wrong_file_type_is_400_in_the_error_shape(coordinator_a):
    client = token_client(coordinator_a)
    response = client.post(IMPORTS, {"file": io.BytesIO(b"x"), "format": ""}, format="multipart")
    assert response.status_code == 400
    upload = io.BytesIO(b"hello")
    upload.name = "notes.txt"
    response = client.post(IMPORTS, {"file": upload}, format="multipart")
    body = assert_error(response, 400, "invalid")
    assert "unknown file type" in body["message"]
    assert ImportJob.objects.count() == 0


def test_api_other_coordinator_gets_404(coordinator_a, coordinator_b, edited):
    _patient, path = edited
    job = preview(coordinator_a, path)
    other = token_client(coordinator_b)
    assert_error(other.get(reverse("api:import-detail", args=[job.pk])), 404, "not_found")
    assert_error(other.post(reverse("api:import-commit", args=[job.pk])), 404, "not_found")


def test_api_commit_of_a_file_with_errors_is_409(coordinator_a, edited):
    _patient, path = edited
    book = Workbook(path)
    book.set("baseline", 0, "weight_kg", 5)
    book.save()
    job = preview(coordinator_a, path)
    client = token_client(coordinator_a)
    body = client.get(reverse("api:import-detail", args=[job.pk])).json()
    assert body["can_commit"] is False and body["commit_url"] is None
    assert body["problems"][0]["column"] == "weight_kg"
    assert_error(client.post(reverse("api:import-commit", args=[job.pk])), 409, "conflict")


def test_page_upload_preview_confirm(
    client, coordinator_a, edited, django_capture_on_commit_callbacks
):
    patient, path = edited
    client.force_login(coordinator_a)
    with open(path, "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:list"), {"file": handle})
    assert response.status_code == 302
    page = client.get(response["Location"])
    text = page.content.decode()
    assert "weight_kg" in text and "65 → 72" in text
    assert "Confirm the import" in text
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:commit", args=[job.pk]))
    assert Baseline.objects.get(patient=patient).weight_kg == 72


def test_page_of_another_users_import_is_404(client, coordinator_b, coordinator_a, edited):
    _patient, path = edited
    job = preview(coordinator_a, path)
    client.force_login(coordinator_b)
    assert client.get(reverse("imports:detail", args=[job.pk])).status_code == 404
    assert client.post(reverse("imports:commit", args=[job.pk])).status_code == 404


def test_pi_cannot_open_the_import_page(client, pi_user):
    client.force_login(pi_user)
    assert client.get(reverse("imports:list")).status_code == 403


def test_prefilled_template_download_is_scoped(client, coordinator_a, coordinator_b, tmp_path):
    own = builders.build_casebook(coordinator_a)
    builders.build_casebook(coordinator_b)
    client.force_login(coordinator_a)
    response = client.get(reverse("imports:template"), {"center": "AAA"})
    assert response.status_code == 200
    path = tmp_path / "down.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    sheet = load_workbook(path)["registration"]
    ids = [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)]
    assert ids == [own.study_id]
    # Another centre's data cannot be asked for (not a choice of the form: 404).
    assert client.get(reverse("imports:template"), {"center": "BBB"}).status_code == 404


def test_empty_template_has_field_names_labels_and_dropdowns(client, coordinator_a, tmp_path):
    client.force_login(coordinator_a)
    response = client.get(reverse("imports:template"))
    path = tmp_path / "empty.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    book = load_workbook(path)
    sheet = book["baseline"]
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["study_id", "center", "smoking"]
    assert "smoking_missing" in header
    assert sheet["C2"].value.startswith("Smoking")
    assert "never=Never" in sheet["C2"].value
    validations = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert validations["C3:C20000"].startswith("lists!$")
    assert [row[0] for row in sheet.iter_rows(min_row=3, values_only=True)] == []
    assert services.import_reason("x" * 50 + ".xlsx", "0" * 64).endswith("sha256 " + "0" * 64)


def test_upload_paths_take_bodies_over_the_general_limit(coordinator_a, tmp_path, settings):
    settings.MAX_BODY_BYTES = 2048
    settings.UPLOAD_BODY_LIMITS = {"/api/v1/imports/": 10 * 1024 * 1024}
    path = template(tmp_path / "big.xlsx")
    assert path.stat().st_size > 2048
    client = token_client(coordinator_a)
    assert _upload(client, path).status_code == 202
    too_big = client.post(reverse("api:export-list"), {"reason": "x" * 4096}, format="json")
    assert_error(too_big, 413, "payload_too_large")
