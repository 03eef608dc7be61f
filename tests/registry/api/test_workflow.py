"""Casebook workflow over the API: complete, sign and lock, unlock, history."""

from __future__ import annotations

from registry import services
from registry.models import AuditEvent, Patient, SectionCompletion, Signature
from tests.api_support import assert_error
from tests.builders import build_casebook, lock_casebook, register_patient
from tests.factories import TEST_PASSWORD


def action(client, patient, name: str, body=None):
    return client.post(f"/api/v1/patients/{patient.study_id}/{name}/", body or {}, format="json")


def lock_body(password=TEST_PASSWORD, meaning=services.SIGNATURE_MEANING) -> dict:
    return {"password": password, "meaning": meaning}


def test_mark_complete(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    response = action(api_a, patient, "complete")
    assert response.json() == {
        "study_id": patient.study_id,
        "casebook_status": "complete",
        "locked": False,
        "version": 1,
    }


def test_mark_complete_lists_what_is_missing(api_a, coordinator_a):
    patient = register_patient(coordinator_a)
    error = assert_error(action(api_a, patient, "complete"), 400, "invalid", field="__all__")
    assert error["message"] == "The casebook is not complete: Baseline: not entered."
    patient.refresh_from_db()
    assert patient.casebook_status == "in_progress"


def test_mark_one_section_complete(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    response = api_a.post(
        f"/api/v1/patients/{patient.study_id}/sections/baseline/complete/", format="json"
    )
    assert (response.status_code, response.json()["section"]) == (200, "baseline")
    assert SectionCompletion.objects.filter(patient=patient, section="baseline").exists()


def test_unknown_section_is_404(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    response = api_a.post(f"/api/v1/patients/{patient.study_id}/sections/nope/complete/")
    assert_error(response, 404, "not_found")


def test_investigator_signs_and_locks(api_investigator, coordinator_a):
    patient = build_casebook(coordinator_a, complete=True)
    response = action(api_investigator, patient, "lock", lock_body())
    assert response.status_code == 200
    body = response.json()
    assert (body["casebook_status"], body["locked"], body["signature"]["signed_by"]) == (
        "locked",
        True,
        "ivan",
    )
    assert Signature.objects.get(patient=patient).meaning == services.SIGNATURE_MEANING


def test_lock_with_wrong_password_is_refused_and_audited(api_investigator, coordinator_a):
    patient = build_casebook(coordinator_a, complete=True)
    response = action(api_investigator, patient, "lock", lock_body(password="nope"))
    assert_error(response, 403, "forbidden", field="password")
    patient.refresh_from_db()
    assert patient.casebook_status == "complete"
    assert AuditEvent.objects.filter(patient=patient, action="lock_refused").count() == 1


def test_lock_with_altered_meaning_names_meaning(api_investigator, coordinator_a):
    patient = build_casebook(coordinator_a, complete=True)
    response = action(api_investigator, patient, "lock", lock_body(meaning="I agree."))
    assert_error(response, 400, "invalid", field="meaning")


def test_lock_without_password_names_password(api_investigator, coordinator_a):
    patient = build_casebook(coordinator_a, complete=True)
    response = action(api_investigator, patient, "lock", {"meaning": services.SIGNATURE_MEANING})
    assert_error(response, 400, "invalid", field="password")


def test_coordinator_cannot_lock(api_a, coordinator_a):
    patient = build_casebook(coordinator_a, complete=True)
    assert_error(action(api_a, patient, "lock", lock_body()), 403, "forbidden")


def test_locking_a_locked_casebook_is_409(api_investigator, coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    assert_error(action(api_investigator, patient, "lock", lock_body()), 409, "locked")


def test_data_manager_unlocks_with_reason(api_dm, coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    response = action(api_dm, patient, "unlock", {"reason": "Query on ECOG"})
    assert response.json()["casebook_status"] == "complete"
    assert Signature.objects.get(patient=patient).void_reason == "Query on ECOG"


def test_unlock_without_reason_names_reason(api_dm, coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    assert_error(action(api_dm, patient, "unlock", {}), 400, "invalid", field="reason")
    assert Patient.objects.get(pk=patient.pk).is_locked


def test_coordinator_cannot_unlock(api_a, coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    assert_error(action(api_a, patient, "unlock", {"reason": "x"}), 403, "forbidden")


def test_history_lists_field_changes_with_author_and_reason(api_a, coordinator_a):
    patient = build_casebook(coordinator_a, complete=True)
    api_a.patch(
        f"/api/v1/patients/{patient.study_id}/baseline/",
        {"ecog": 2, "version": 1, "reason": "Re-read the chart"},
        format="json",
    )
    history = api_a.get(f"/api/v1/patients/{patient.study_id}/history/").json()
    # The change sent the complete casebook back to "in progress": that event comes right after.
    assert history[0]["kind"] == "event:casebook_reopened"
    newest = history[1]
    assert (newest["kind"], newest["section"], newest["user"], newest["reason"]) == (
        "changed",
        "baseline",
        "alice",
        "Re-read the chart",
    )
    assert newest["changes"] == [{"field": "ecog", "old": "1", "new": "2"}]
    assert "event:casebook_complete" in [e["kind"] for e in history]
    assert "event:register" in [e["kind"] for e in history]


def test_history_hides_identifier_values_from_study_wide_roles(api_dm, coordinator_a):
    patient = register_patient(coordinator_a)
    history = api_dm.get(f"/api/v1/patients/{patient.study_id}/history/").json()
    created = next(e for e in history if e["kind"] == "created")
    mrn = next(c for c in created["changes"] if c["field"] == "mrn")
    assert mrn == {"field": "mrn", "old": None, "new": None}


def test_history_shows_a_deletion_with_its_reason(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    ae = patient.adverse_events.get()
    api_a.delete(
        f"/api/v1/patients/{patient.study_id}/adverse-events/{ae.pk}/?version=1&reason=Dup"
    )
    history = api_a.get(f"/api/v1/patients/{patient.study_id}/history/").json()
    kinds = {(e["kind"], e["reason"]) for e in history if e["section"] == "adverse_events"}
    assert ("deleted", "Dup") in kinds
    assert ("event:delete", "Dup") in kinds
