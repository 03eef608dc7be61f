"""Mark part/casebook complete, sign and lock, unlock — from the pages."""

import pytest
from django.urls import reverse

from registry import services
from registry.models import AuditEvent, Baseline, SectionCompletion, Signature
from tests.builders import baseline, build_casebook, lock_casebook, register_patient
from tests.factories import TEST_PASSWORD
from tests.registry.pages_support import field_block, form_data, snapshot


def _sign_data(**overrides):
    data = {"password": TEST_PASSWORD, "meaning": services.SIGNATURE_MEANING, "confirm": "on"}
    data.update(overrides)
    return data


@pytest.fixture
def complete_patient(coordinator_a):
    return build_casebook(coordinator_a, complete=True)


def test_mark_part_complete_records_completion(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    client.force_login(coordinator_a)
    url = reverse("registry:section_complete", args=[patient.study_id, "baseline"])
    response = client.post(url)
    assert response.status_code == 302
    assert list(SectionCompletion.objects.values_list("section", flat=True)) == ["baseline"]


def test_mark_part_complete_refused_shows_what_is_missing(client, coordinator_a):
    patient = register_patient(coordinator_a)
    client.force_login(coordinator_a)
    url = reverse("registry:section_complete", args=[patient.study_id, "baseline"])
    response = client.post(url, follow=True)
    assert "Baseline: not entered." in response.content.decode()
    assert not SectionCompletion.objects.exists()


def test_mark_casebook_complete(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    client.force_login(coordinator_a)
    response = client.post(reverse("registry:casebook_complete", args=[patient.study_id]))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.casebook_status == "complete"


def test_mark_incomplete_casebook_complete_shows_the_problem(client, coordinator_a):
    patient = register_patient(coordinator_a)
    client.force_login(coordinator_a)
    url = reverse("registry:casebook_complete", args=[patient.study_id])
    page = client.post(url, follow=True).content.decode()
    assert "Baseline: not entered." in page
    patient.refresh_from_db()
    assert patient.casebook_status == "in_progress"


def test_sign_page_shows_the_exact_statement(client, investigator_a, complete_patient):
    client.force_login(investigator_a)
    response = client.get(reverse("registry:sign", args=[complete_patient.study_id]))
    assert response.status_code == 200
    assert services.SIGNATURE_MEANING in response.content.decode()


def test_investigator_signs_and_locks(client, investigator_a, complete_patient):
    client.force_login(investigator_a)
    url = reverse("registry:sign", args=[complete_patient.study_id])
    response = client.post(url, _sign_data())
    assert response.status_code == 302
    complete_patient.refresh_from_db()
    assert complete_patient.casebook_status == "locked"
    signature = Signature.objects.get()
    assert (signature.signed_by, signature.meaning) == (investigator_a, services.SIGNATURE_MEANING)


def test_wrong_password_is_shown_next_to_password_and_does_not_lock(
    client, investigator_a, complete_patient
):
    client.force_login(investigator_a)
    url = reverse("registry:sign", args=[complete_patient.study_id])
    response = client.post(url, _sign_data(password="wrong"))
    assert response.status_code == 200
    assert "The password is not correct." in field_block(response.content.decode(), "password")
    complete_patient.refresh_from_db()
    assert complete_patient.casebook_status == "complete"
    assert AuditEvent.objects.filter(action="lock_refused").count() == 1


def test_unconfirmed_statement_does_not_lock(client, investigator_a, complete_patient):
    client.force_login(investigator_a)
    url = reverse("registry:sign", args=[complete_patient.study_id])
    data = _sign_data()
    del data["confirm"]
    response = client.post(url, data)
    assert "This field is required." in field_block(response.content.decode(), "confirm")
    assert not Signature.objects.exists()


def test_altered_statement_is_refused_by_the_service(client, investigator_a, complete_patient):
    client.force_login(investigator_a)
    url = reverse("registry:sign", args=[complete_patient.study_id])
    response = client.post(url, _sign_data(meaning="I looked at it."))
    assert "Confirm the signature statement exactly as shown." in response.content.decode()
    assert not Signature.objects.exists()


def test_coordinator_cannot_sign(client, coordinator_a, complete_patient):
    client.force_login(coordinator_a)
    before = snapshot()
    url = reverse("registry:sign", args=[complete_patient.study_id])
    assert client.post(url, _sign_data()).status_code == 403
    assert snapshot() == before


def test_signing_an_in_progress_casebook_is_refused(client, coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a)
    client.force_login(investigator_a)
    url = reverse("registry:sign", args=[patient.study_id])
    page = client.post(url, _sign_data()).content.decode()
    assert "Only a complete casebook can be locked" in page
    assert not Signature.objects.exists()


def test_signing_a_locked_casebook_again_is_409(client, investigator_a, complete_patient):
    lock_casebook(complete_patient, investigator_a, TEST_PASSWORD)
    client.force_login(investigator_a)
    url = reverse("registry:sign", args=[complete_patient.study_id])
    assert client.post(url, _sign_data()).status_code == 409
    assert Signature.objects.count() == 1


def test_data_manager_unlocks_with_reason_and_voids_signature(
    client, data_manager, investigator_a, complete_patient
):
    lock_casebook(complete_patient, investigator_a, TEST_PASSWORD)
    client.force_login(data_manager)
    url = reverse("registry:unlock", args=[complete_patient.study_id])
    assert client.get(url).status_code == 200
    response = client.post(url, {"reason": "Query on ECOG from monitoring"})
    assert response.status_code == 302
    complete_patient.refresh_from_db()
    assert complete_patient.casebook_status == "complete"
    assert Signature.objects.get().void_reason == "Query on ECOG from monitoring"


def test_unlock_without_reason_is_refused_next_to_reason(
    client, data_manager, investigator_a, complete_patient
):
    lock_casebook(complete_patient, investigator_a, TEST_PASSWORD)
    client.force_login(data_manager)
    url = reverse("registry:unlock", args=[complete_patient.study_id])
    response = client.post(url, {"reason": ""})
    assert "This field is required." in field_block(response.content.decode(), "reason")
    complete_patient.refresh_from_db()
    assert complete_patient.casebook_status == "locked"


def test_investigator_cannot_unlock(client, investigator_a, complete_patient):
    lock_casebook(complete_patient, investigator_a, TEST_PASSWORD)
    client.force_login(investigator_a)
    url = reverse("registry:unlock", args=[complete_patient.study_id])
    assert client.post(url, {"reason": "mine"}).status_code == 403
    complete_patient.refresh_from_db()
    assert complete_patient.casebook_status == "locked"


def _edit_weight(client, user, patient, weight: str, reason: str):
    record = Baseline.objects.get(patient=patient)
    client.force_login(user)
    url = reverse("registry:part_edit", args=[patient.study_id, "baseline"])
    data = form_data(baseline(weight_kg=weight), version=record.version, reason=reason)
    return client.post(url, data)


def test_edit_of_a_complete_casebook_is_recorded_as_back_in_progress(
    client, coordinator_a, complete_patient
):
    response = _edit_weight(client, coordinator_a, complete_patient, "66", "Weight re-measured")
    assert response.status_code == 302
    complete_patient.refresh_from_db()
    assert complete_patient.casebook_status == "in_progress"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CASEBOOK_REOPENED)
    assert (event.user, event.reason, event.detail) == (
        coordinator_a,
        "Weight re-measured",
        {"section": "baseline"},
    )
    history = client.get(reverse("registry:history", args=[complete_patient.study_id]))
    assert "Casebook back in progress after a change" in history.content.decode()


def test_casebook_says_why_it_is_in_progress_with_every_part_complete(
    client, coordinator_a, complete_patient
):
    _edit_weight(client, coordinator_a, complete_patient, "66", "Weight re-measured")
    page = client.get(reverse("registry:casebook", args=[complete_patient.study_id]))
    html = page.content.decode()
    assert "<strong>7 of 7</strong> parts complete" in html
    assert "Back in progress: Baseline was changed on" in html
    assert "by alice after the casebook was marked complete" in html


def test_an_in_progress_casebook_gets_no_reopened_event(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    services.section_mark_complete(user=coordinator_a, patient=patient, section="baseline")
    _edit_weight(client, coordinator_a, patient, "66", "Weight re-measured")
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CASEBOOK_REOPENED).exists()
