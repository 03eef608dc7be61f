"""Who may export what, download links, and the audit trail of every attempt."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from exchange import services
from exchange.models import ExportJob
from registry.models import AuditEvent
from tests.exchange.helpers import open_zip, rows, run_export
from tests.factories import TEST_PASSWORD, UserFactory


def _refusals():
    return AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT_REFUSED)


def test_site_staff_export_contains_only_their_own_centre(seeded, coordinator_a):
    zf = open_zip(run_export(coordinator_a))
    assert {r["center"] for r in rows(zf, "tables/registration.csv")} == {"AAA"}
    assert len(rows(zf, "tables/registration.csv")) == 4


def test_site_staff_asking_for_another_centre_is_refused(seeded, coordinator_a):
    with pytest.raises(ApplicationError, match=r"own centre \(AAA\) only; not BBB"):
        services.export_request(user=coordinator_a, centers=["BBB"], enqueue=False)
    assert ExportJob.objects.count() == 0


def test_refused_centre_request_is_audited(seeded, coordinator_a):
    with pytest.raises(ApplicationError):
        services.export_request(user=coordinator_a, centers=["BBB"], enqueue=False)
    event = _refusals().get()
    assert (event.user, event.detail["centers"]) == (coordinator_a, ["BBB"])


def test_data_manager_is_refused_with_a_clear_message(seeded, data_manager):
    with pytest.raises(ApplicationError, match="Data manager / monitor.*may not export"):
        services.export_request(user=data_manager, enqueue=False)
    assert _refusals().filter(user=data_manager).count() == 1


def test_pi_exports_every_centre(seeded, pi_user):
    zf = open_zip(run_export(pi_user))
    assert {r["center"] for r in rows(zf, "tables/registration.csv")} == {"AAA", "BBB"}


def test_unknown_centre_code_is_refused_naming_it(seeded, pi_user):
    with pytest.raises(ApplicationError, match="centers: unknown centre code.*ZZZ"):
        services.export_request(user=pi_user, centers=["ZZZ"], enqueue=False)


def test_identified_export_refused_for_admin_without_the_permission(seeded, plain_admin):
    with pytest.raises(ApplicationError, match="exchange.export_identified"):
        services.export_request(user=plain_admin, identified=True, reason="x", enqueue=False)
    assert ExportJob.objects.count() == 0
    assert _refusals().get().detail["identified"] is True


def test_identified_export_refused_without_a_reason(seeded, export_admin):
    with pytest.raises(ApplicationError, match="reason: an identified export needs a reason"):
        services.export_request(user=export_admin, identified=True, reason="  ", enqueue=False)
    assert ExportJob.objects.count() == 0


def test_site_staff_cannot_export_identified_data(seeded, coordinator_a):
    with pytest.raises(ApplicationError, match="administrator"):
        services.export_request(user=coordinator_a, identified=True, reason="x", enqueue=False)


def test_identified_export_is_labelled_in_manifest_and_file_name(seeded, export_admin):
    job = run_export(export_admin, identified=True, reason="Source data verification")
    manifest = open_zip(job).read("manifest.json").decode()
    assert '"label": "IDENTIFIED"' in manifest
    assert '"reason": "Source data verification"' in manifest
    assert "IDENTIFIED" in job.file_name
    mrns = {r["mrn"] for r in rows(open_zip(job), "tables/registration.csv")}
    assert mrns == {s.mrn for s in seeded["locked"]}


def test_export_request_and_completion_are_audited(seeded, pi_user):
    job = run_export(pi_user, centers=["AAA"])
    stages = list(
        AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT, user=pi_user)
        .order_by("pk")
        .values_list("detail__stage", flat=True)
    )
    assert stages == ["requested", "done"]
    done = AuditEvent.objects.filter(action=AuditEvent.Action.EXPORT).last()
    assert (done.detail["job"], done.detail["centers"]) == (job.pk, ["AAA"])


def test_failed_export_is_recorded_and_audited(seeded, pi_user, monkeypatch):
    def broken(spec, out_path):
        raise OSError("disk full")

    monkeypatch.setattr(services, "write_export", broken)
    job = run_export(pi_user)
    assert (job.status, job.error) == (ExportJob.Status.FAILED, "disk full")
    assert _refusals().get().detail == {"job": job.pk, "stage": "failed", "error": "disk full"}


def test_a_claimed_export_does_not_run_twice(seeded, pi_user):
    job = run_export(pi_user)
    assert services.export_run(job_id=job.pk) is None


# -- pages ---------------------------------------------------------------------------------


def _login(client, user):
    assert client.login(username=user.username, password=TEST_PASSWORD)


def test_download_by_owner_returns_the_zip_and_is_audited(seeded, pi_user, client):
    job = run_export(pi_user)
    _login(client, pi_user)
    response = client.get(reverse("exports:download", args=[job.pk]))
    assert response.status_code == 200
    assert job.file_name in response["Content-Disposition"]
    assert b"".join(response.streaming_content)[:2] == b"PK"
    event = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT_DOWNLOAD)
    assert (event.user, event.detail["job"]) == (pi_user, job.pk)


def test_download_by_another_user_is_404_and_audited(seeded, pi_user, client):
    job = run_export(pi_user)
    other = UserFactory(username="otto", role="pi", center=None)
    _login(client, other)
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 404
    assert _refusals().get().user == other


def test_expired_download_link_is_refused_and_audited(seeded, pi_user, client):
    job = run_export(pi_user)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    _login(client, pi_user)
    response = client.get(reverse("exports:download", args=[job.pk]))
    assert response.status_code == 410
    assert b"expired" in response.content
    assert _refusals().get().detail["job"] == job.pk


def test_download_link_expires_after_the_configured_hours(seeded, pi_user, settings):
    settings.EXPORT_LINK_TTL_HOURS = 6
    job = run_export(pi_user)
    assert job.expires_at - job.finished_at == timedelta(hours=6)


def test_export_page_lists_only_the_users_own_exports(seeded, pi_user, admin_user, client):
    mine = run_export(pi_user)
    theirs = run_export(admin_user)
    _login(client, pi_user)
    page = client.get(reverse("exports:list")).content.decode()
    assert reverse("exports:download", args=[mine.pk]) in page
    assert reverse("exports:download", args=[theirs.pk]) not in page


def test_export_form_queues_and_runs_an_export(
    seeded, pi_user, client, django_capture_on_commit_callbacks
):
    _login(client, pi_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("exports:list"),
            {
                "centers": ["BBB"],
                "locked_only": "on",
                "formats": ["redcap"],
                "date_mode": "shifted",
                "recipient": "",
            },
        )
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert (job.status, job.centers, job.formats) == ("done", ["BBB"], ["csv", "redcap"])


def test_export_form_shows_the_refusal_for_another_centre(seeded, coordinator_a, client):
    _login(client, coordinator_a)
    response = client.post(reverse("exports:list"), {"centers": ["BBB"], "date_mode": "relative"})
    assert response.status_code == 400
    assert ExportJob.objects.count() == 0


def test_export_page_needs_login(client):
    response = client.get(reverse("exports:list"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]
