"""Exports over the API: request a job with its options, poll it, download the ZIP; the
export page's scope, permission and audit rules through the same service."""

from __future__ import annotations

import zipfile
from datetime import timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from exchange import services
from exchange.models import ExportJob
from registry.models import AuditEvent, Patient
from tests import people
from tests.api_support import assert_error, token_client
from tests.builders import build_casebook
from tests.factories import UserFactory
from tests.module_data import committed_for_module

EXPORTS = reverse("api:export-list")


@pytest.fixture(autouse=True)
def _export_dir(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"


def _one_casebook_per_centre() -> tuple[int, int]:
    a, b = people.center_a(), people.center_b()
    return (
        build_casebook(people.coordinator_a(a), complete=True).pk,
        build_casebook(people.coordinator_b(b)).pk,
    )


@pytest.fixture(scope="module")
def casebook_ids(django_db_setup, django_db_blocker):
    """Built once for the module: exports only read the casebooks; the jobs, files and audit
    events a test makes are its own (rolled back; files under its own EXPORT_ROOT)."""
    yield from committed_for_module(django_db_blocker, _one_casebook_per_centre)


@pytest.fixture
def casebooks(casebook_ids, db):
    """One complete (unlocked) casebook per centre: Alice's in AAA, Bob's in BBB."""
    return tuple(Patient.objects.get(pk=pk) for pk in casebook_ids)


def _finished_export(user, **options) -> ExportJob:
    """Request and run an export synchronously (the worker's body), as the CLI does."""
    job = services.export_request(user=user, enqueue=False, **options)
    return services.export_run(job_id=job.pk)


def _detail(job) -> str:
    return reverse("api:export-detail", args=[job.pk])


def _download(job) -> str:
    return reverse("api:export-download", args=[job.pk])


def _refusals():
    return AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT_REFUSED)


# -- request --------------------------------------------------------------------------------


def test_pi_requests_an_export_that_the_worker_then_finishes(
    api_pi, pi_user, casebooks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_pi.post(
            EXPORTS,
            {"locked_only": False, "formats": ["xlsx"], "date_mode": "shifted"},
            format="json",
        )
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["centers"], body["formats"]) == (
        "pending",
        ["AAA", "BBB"],
        ["csv", "xlsx"],
    )
    assert response["Location"] == _detail(ExportJob.objects.get())
    polled = api_pi.get(response["Location"]).json()
    assert polled["status"] == "done"
    assert polled["row_counts"]["analysis/patients.csv"] == 2
    assert polled["download_url"] == _download(ExportJob.objects.get())
    requested = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT, detail__stage="requested")
    assert (requested.user, requested.detail["date_mode"]) == (pi_user, "shifted")


def test_site_staff_export_covers_their_own_centre_only(api_a, casebooks):
    response = api_a.post(EXPORTS, {"locked_only": False}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["centers"] == ["AAA"]


def test_site_staff_asking_for_another_centre_is_403_naming_centers_and_audited(
    api_a, coordinator_a, casebooks
):
    error = assert_error(
        api_a.post(EXPORTS, {"centers": ["BBB"]}, format="json"), 403, "forbidden", "centers"
    )
    assert "BBB" in error["message"]
    assert _refusals().get().user == coordinator_a
    assert not ExportJob.objects.exists()


def test_unknown_centre_is_400_naming_centers(api_pi, casebooks):
    error = assert_error(
        api_pi.post(EXPORTS, {"centers": ["ZZZ"]}, format="json"), 400, "invalid", "centers"
    )
    assert "ZZZ" in error["message"]
    assert not ExportJob.objects.exists()


def test_identified_export_without_a_reason_is_400_naming_reason(api_admin, casebooks):
    response = api_admin.post(EXPORTS, {"identified": True}, format="json")
    assert_error(response, 400, "invalid", "reason")
    assert not ExportJob.objects.exists()


def test_unknown_format_is_400_naming_formats(api_pi, casebooks):
    response = api_pi.post(EXPORTS, {"formats": ["pdf"]}, format="json")
    assert assert_error(response, 400, "invalid")["fields"] == {
        "formats.0": ['"pdf" is not a valid choice.']
    }


def test_locked_only_as_a_string_is_400_naming_it(api_pi):
    assert_error(
        api_pi.post(EXPORTS, {"locked_only": "true"}, format="json"), 400, "invalid", "locked_only"
    )


def test_post_without_a_body_is_400_and_creates_nothing(api_pi, casebooks):
    error = assert_error(api_pi.post(EXPORTS), 400, "invalid", "__all__")
    assert "{}" in error["message"]
    assert not ExportJob.objects.exists()


def test_data_manager_may_not_export(api_dm, casebooks):
    error = assert_error(api_dm.post(EXPORTS, {}, format="json"), 403, "forbidden")
    assert "may not export" in error["message"]


def test_identified_export_needs_the_permission(casebooks):
    admin_without_permission = UserFactory(username="pla", role="admin", center=None)
    body = {"identified": True, "reason": "Linkage with the cancer registry"}
    response = token_client(admin_without_permission).post(EXPORTS, body, format="json")
    error = assert_error(response, 403, "forbidden")
    assert "exchange.export_identified" in error["message"]
    assert not ExportJob.objects.exists()


def test_retried_request_with_the_same_key_gives_one_job(api_pi, casebooks):
    headers = {"HTTP_IDEMPOTENCY_KEY": "export-1"}
    first = api_pi.post(EXPORTS, {}, format="json", **headers)
    second = api_pi.post(EXPORTS, {}, format="json", **headers)
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert ExportJob.objects.count() == 1


def test_options_describes_the_request_body(api_pi):
    response = api_pi.options(EXPORTS)
    assert response.status_code == 200, response.content
    assert "date_mode" in response.json()["actions"]["POST"]


# -- list and poll --------------------------------------------------------------------------


def test_list_shows_only_your_own_exports_newest_first(api_pi, pi_user, admin_user, casebooks):
    older = _finished_export(pi_user, locked_only=False)
    newer = _finished_export(pi_user, locked_only=False)
    _finished_export(admin_user, locked_only=False)
    page = api_pi.get(EXPORTS).json()
    assert [job["id"] for job in page["results"]] == [newer.pk, older.pk]


def test_another_users_export_is_404_on_poll(api_admin, pi_user, casebooks):
    job = _finished_export(pi_user, locked_only=False)
    assert_error(api_admin.get(_detail(job)), 404, "not_found")


def test_expired_export_has_no_download_url(api_pi, pi_user, casebooks):
    job = _finished_export(pi_user, locked_only=False)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert api_pi.get(_detail(job)).json()["download_url"] is None


# -- download -------------------------------------------------------------------------------


def test_owner_downloads_the_zip_and_the_download_is_audited(api_pi, pi_user, casebooks):
    job = _finished_export(pi_user, locked_only=False)
    response = api_pi.get(_download(job))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert job.file_name in response["Content-Disposition"]
    archive = zipfile.ZipFile(BytesIO(b"".join(response.streaming_content)))
    assert "analysis/patients.csv" in archive.namelist()
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT_DOWNLOAD)
    assert (event.user, event.detail["job"]) == (pi_user, job.pk)


def test_client_accepting_only_zip_gets_the_zip(api_pi, pi_user, casebooks):
    job = _finished_export(pi_user, locked_only=False)
    response = api_pi.get(_download(job), HTTP_ACCEPT="application/zip")
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:2] == b"PK"


def test_other_users_download_is_404_in_the_error_shape_and_audited(pi_user, casebooks):
    job = _finished_export(pi_user, locked_only=False)
    other = UserFactory(username="otto", role="pi", center=None)
    response = token_client(other).get(_download(job), HTTP_ACCEPT="application/zip")
    assert_error(response, 404, "not_found")
    assert _refusals().get().user == other


def test_expired_download_is_410_and_audited(api_pi, pi_user, casebooks):
    job = _finished_export(pi_user, locked_only=False)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    error = assert_error(api_pi.get(_download(job)), 410, "expired")
    assert "expired" in error["message"]
    assert _refusals().get().detail["job"] == job.pk


def test_download_of_an_export_still_queued_is_404(api_pi, pi_user, casebooks):
    job = services.export_request(user=pi_user, enqueue=False)
    assert_error(api_pi.get(_download(job)), 404, "not_found")


def test_anonymous_client_gets_401_everywhere(pi_user, casebooks):
    job = _finished_export(pi_user, locked_only=False)
    client = APIClient()
    for url in (EXPORTS, _detail(job), _download(job)):
        assert_error(client.get(url), 401, "not_authenticated")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT_DOWNLOAD).exists()
