"""Source verifications over the API: list and create on one casebook, role rule (403),
centre scope (404), validation (400)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from quality import verifications as sdv
from quality.models import Verification
from registry.models import AdverseEvent
from tests.api_support import assert_error


def url(patient) -> str:
    return reverse("api:patient-verifications", args=[patient.study_id])


def test_path_is_under_the_patient(casebook):
    assert url(casebook) == f"/api/v1/patients/{casebook.study_id}/verifications/"


def test_data_manager_verifies_fields(api_dm, casebook):
    response = api_dm.post(
        url(casebook), {"section": "baseline", "fields": ["weight_kg"]}, format="json"
    )
    assert response.status_code == 201, response.content
    (row,) = response.json()
    assert (row["section"], row["record"], row["field"]) == ("baseline", None, "weight_kg")
    assert (row["value_at_verification"], row["verified_by"], row["valid"]) == (
        "65.0",
        "dora",
        True,
    )
    assert row["dropped_at"] is None


def test_whole_record_of_a_repeating_part(api_dm, casebook):
    event = AdverseEvent.objects.get(patient=casebook)
    response = api_dm.post(
        url(casebook), {"section": "adverse_events", "record": event.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    assert [(r["record"], r["field"]) for r in response.json()] == [(event.pk, "")]


@pytest.mark.parametrize("who", ["api_a", "api_investigator", "api_pi", "api_admin"])
def test_other_roles_may_not_verify(request, who, casebook):
    response = request.getfixturevalue(who).post(
        url(casebook), {"section": "baseline"}, format="json"
    )
    assert_error(response, 403, "forbidden")
    assert not Verification.objects.exists()


def test_another_centre_is_not_found(api_b, casebook):
    assert_error(api_b.get(url(casebook)), 404, "not_found")
    assert_error(
        api_b.post(url(casebook), {"section": "baseline"}, format="json"), 404, "not_found"
    )


def test_an_unknown_field_is_a_400_naming_it(api_dm, casebook):
    response = api_dm.post(
        url(casebook), {"section": "baseline", "fields": ["colour"]}, format="json"
    )
    assert_error(response, 400, "invalid", "field")


def test_list_shows_valid_and_dropped_verifications_to_the_site(data_manager, api_a, casebook):
    sdv.verification_mark(user=data_manager, patient=casebook, section="baseline")
    sdv.verification_mark(
        user=data_manager, patient=casebook, section="second_line", fields=["start_date"]
    )
    Verification.objects.filter(section="baseline").update(dropped_at="2026-01-01T00:00Z")
    response = api_a.get(url(casebook))
    assert response.status_code == 200
    rows = {(r["section"], r["field"]): r["valid"] for r in response.json()}
    assert rows == {("baseline", ""): False, ("second_line", "start_date"): True}
