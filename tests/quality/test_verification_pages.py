"""SDV on the pages: the casebook's "verify" buttons and "✓" badges (through quality_tags),
the verify POST (403 by role, 404 for another centre), and /quality/verification/ (progress
per centre, dropped list, centre filter, CSV)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from quality import verifications as sdv
from quality.models import StudySettings, Verification
from registry import services as registry_services
from registry.models import AdverseEvent, Baseline
from tests.builders import build_casebook

OVERVIEW = reverse("quality:verification")


def casebook_url(patient) -> str:
    return reverse("registry:casebook", args=[patient.study_id])


def verify_url(patient) -> str:
    return reverse("quality:verification_mark", args=[patient.study_id])


def test_data_manager_verifies_a_field_from_the_casebook(client, data_manager, casebook):
    client.force_login(data_manager)
    response = client.post(verify_url(casebook), {"section": "baseline", "field": "weight_kg"})
    assert response.status_code == 302
    assert response["Location"] == casebook_url(casebook) + "#baseline"
    row = Verification.objects.get()
    assert (row.section, row.record_id, row.field) == ("baseline", None, "weight_kg")


def test_data_manager_verifies_a_record_of_a_repeating_part(client, data_manager, casebook):
    event = AdverseEvent.objects.get(patient=casebook)
    client.force_login(data_manager)
    client.post(verify_url(casebook), {"section": "adverse_events", "record": str(event.pk)})
    assert Verification.objects.get().record_id == event.pk


@pytest.mark.parametrize("who", ["coordinator_a", "investigator_a", "pi_user"])
def test_other_roles_get_403_on_verify(request, who, client, casebook):
    client.force_login(request.getfixturevalue(who))
    response = client.post(verify_url(casebook), {"section": "baseline"})
    assert response.status_code == 403
    assert not Verification.objects.exists()


def test_another_centre_gets_404_on_verify(client, coordinator_b, casebook):
    client.force_login(coordinator_b)
    assert client.post(verify_url(casebook), {"section": "baseline"}).status_code == 404


def test_verify_is_post_only(client, data_manager, casebook):
    client.force_login(data_manager)
    assert client.get(verify_url(casebook)).status_code == 405


def test_a_refused_verification_comes_back_with_the_message(client, data_manager, casebook):
    client.force_login(data_manager)
    response = client.post(
        verify_url(casebook), {"section": "baseline", "field": "colour"}, follow=True
    )
    assert "is not a field of baseline" in response.content.decode()
    assert not Verification.objects.exists()


def test_casebook_offers_verify_buttons_to_a_data_manager(client, data_manager, casebook):
    client.force_login(data_manager)
    html = client.get(casebook_url(casebook)).content.decode()
    assert 'data-verify="weight_kg"' in html
    assert "verify part" in html
    assert "verify record" in html
    assert "sdv-ok" not in html


def test_casebook_shows_verified_badges_to_everyone_and_buttons_to_nobody_else(
    client, data_manager, coordinator_a, casebook
):
    sdv.verification_mark(
        user=data_manager, patient=casebook, section="baseline", fields=["weight_kg"]
    )
    client.force_login(coordinator_a)
    html = client.get(casebook_url(casebook)).content.decode()
    assert 'data-verified="weight_kg"' in html
    assert "sdv-verify" not in html


def test_a_verified_part_marks_its_fields_and_hides_their_buttons(client, data_manager, casebook):
    sdv.verification_mark(user=data_manager, patient=casebook, section="baseline")
    client.force_login(data_manager)
    html = client.get(casebook_url(casebook)).content.decode()
    assert 'data-verified="weight_kg"' in html
    assert 'data-verify="weight_kg"' not in html


def test_casebook_badges_take_one_query_however_many_verifications(client, data_manager, casebook):
    client.force_login(data_manager)
    with CaptureQueriesContext(connection) as none:
        client.get(casebook_url(casebook))
    sdv.verification_mark(
        user=data_manager, patient=casebook, section="baseline", fields=["weight_kg", "ecog"]
    )
    sdv.verification_mark(user=data_manager, patient=casebook, section="second_line")
    with CaptureQueriesContext(connection) as three:
        client.get(casebook_url(casebook))
    assert len(three) == len(none)


@pytest.mark.parametrize("who", ["data_manager", "pi_user", "coordinator_a", "admin_user"])
def test_overview_answers_200_to_every_role(request, who, client, casebook):
    client.force_login(request.getfixturevalue(who))
    assert client.get(OVERVIEW).status_code == 200


def test_overview_needs_a_login(client):
    assert client.get(OVERVIEW).status_code == 302


def test_overview_shows_progress_and_the_dropped_list(
    client, data_manager, coordinator_a, coordinator_b, django_capture_on_commit_callbacks
):
    StudySettings.objects.create(critical_fields=["baseline.weight_kg"])
    a = build_casebook(coordinator_a)
    build_casebook(coordinator_b)
    sdv.verification_mark(user=data_manager, patient=a, section="baseline", fields=["weight_kg"])
    client.force_login(data_manager)
    progress = client.get(OVERVIEW).context["progress"]
    assert [(p.center, p.critical, p.verified, p.percent) for p in progress] == [
        ("AAA", 1, 1, 100.0),
        ("BBB", 1, 0, 0.0),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.crf_record_save(
            user=coordinator_a,
            patient=a,
            section="baseline",
            data={"weight_kg": 70},
            expected_version=Baseline.objects.get(patient=a).version,
        )
    response = client.get(OVERVIEW)
    (row,) = response.context["rows"]
    assert (row["changed"], row["old"], row["new"]) == ("Weight (kg)", "65.0", "70.0")
    assert response.context["progress"][0].verified == 0
    csv_text = b"".join(client.get(OVERVIEW, {"format": "csv"}).streaming_content).decode()
    assert csv_text.splitlines()[1].split(",")[1:3] == [a.study_id, "AAA"]


def test_overview_filters_by_centre_and_scopes_site_staff(
    client, data_manager, coordinator_a, coordinator_b
):
    build_casebook(coordinator_a)
    build_casebook(coordinator_b)
    client.force_login(data_manager)
    only_b = client.get(OVERVIEW, {"center": "BBB"}).context["progress"]
    assert [p.center for p in only_b] == ["BBB"]
    client.force_login(coordinator_a)
    mine = client.get(OVERVIEW, {"center": "BBB"}).context["progress"]
    assert [p.center for p in mine] == ["AAA"]


def test_study_settings_are_edited_by_administrators_in_the_admin(client, admin_user):
    client.force_login(admin_user)
    add = reverse("admin:quality_studysettings_add")
    assert client.get(add).status_code == 200
    response = client.post(
        add, {"critical_fields": '["second_line.start_date"]', "lock_requires_sdv": "on"}
    )
    assert response.status_code == 302, response.content
    assert sdv.study_settings().critical_fields == ["second_line.start_date"]
    assert sdv.study_settings().lock_requires_sdv
    # One row: nothing more to add.
    assert client.get(add).status_code == 403


def test_study_settings_are_not_in_the_admin_for_a_data_manager(client, data_manager):
    data_manager.is_staff = True
    data_manager.save()
    client.force_login(data_manager)
    assert client.get(reverse("admin:quality_studysettings_changelist")).status_code == 403
