"""CRF parts over the API: the services' validation, role rules, locks and versions."""

from __future__ import annotations

from registry.models import AdverseEvent, AuditEvent, Baseline, FollowUp
from tests import builders
from tests.api_support import assert_error, jsonable
from tests.builders import build_casebook, lock_casebook, register_patient
from tests.factories import TEST_PASSWORD


def url(patient, part: str, record_id: int | None = None) -> str:
    tail = f"{record_id}/" if record_id is not None else ""
    return f"/api/v1/patients/{patient.study_id}/{part}/{tail}"


# -- single parts ------------------------------------------------------------------------


def test_baseline_is_entered_then_read(api_a, coordinator_a):
    patient = register_patient(coordinator_a)
    response = api_a.post(url(patient, "baseline"), jsonable(builders.baseline()), format="json")
    assert response.status_code == 201
    assert response["ETag"] == '"1"'
    body = api_a.get(url(patient, "baseline")).json()
    assert (body["ecog"], body["weight_kg"], body["version"]) == (1, 65.0, 1)


def test_baseline_not_entered_is_404(api_a, coordinator_a):
    patient = register_patient(coordinator_a)
    error = assert_error(api_a.get(url(patient, "baseline")), 404, "not_found")
    assert error["message"] == "Baseline not entered yet."


def test_entering_a_single_part_twice_is_a_conflict(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    response = api_a.post(url(patient, "baseline"), jsonable(builders.baseline()), format="json")
    assert_error(response, 409, "conflict")
    assert Baseline.objects.filter(patient=patient).count() == 1


def test_baseline_rule_message_names_the_field(api_a, coordinator_a):
    patient = register_patient(coordinator_a)
    data = jsonable(builders.baseline(smoking="current", pack_years=None))
    error = assert_error(
        api_a.post(url(patient, "baseline"), data, format="json"), 400, "invalid", "pack_years"
    )
    assert error["message"] == "pack_years: Pack-years are required for former and current smokers."
    assert not Baseline.objects.exists()


def test_baseline_out_of_range_names_the_field_and_limit(api_a, coordinator_a):
    patient = register_patient(coordinator_a)
    data = jsonable(builders.baseline(height_cm=90))
    error = assert_error(
        api_a.post(url(patient, "baseline"), data, format="json"), 400, "invalid", "height_cm"
    )
    assert error["fields"]["height_cm"] == ["Ensure this value is greater than or equal to 100."]


def test_baseline_patch_changes_one_field_and_bumps_the_version(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    response = api_a.patch(url(patient, "baseline"), {"ecog": 2, "version": 1}, format="json")
    assert response.status_code == 200
    assert (response.json()["ecog"], response.json()["version"]) == (2, 2)
    assert response["ETag"] == '"2"'


def test_patch_with_if_match_header_instead_of_version(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    response = api_a.patch(
        url(patient, "baseline"), {"ecog": 2}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200


def test_patch_without_version_is_refused_naming_version(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    response = api_a.patch(url(patient, "baseline"), {"ecog": 2}, format="json")
    assert_error(response, 400, "invalid", field="version")
    assert Baseline.objects.get(patient=patient).ecog == 1


def test_stale_version_is_412_and_changes_nothing(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    api_a.patch(url(patient, "baseline"), {"ecog": 2, "version": 1}, format="json")
    response = api_a.patch(url(patient, "baseline"), {"ecog": 3, "version": 1}, format="json")
    error = assert_error(response, 412, "stale")
    assert "changed by alice" in error["message"]
    assert Baseline.objects.get(patient=patient).ecog == 2


def test_stale_if_match_is_412(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    api_a.patch(url(patient, "baseline"), {"ecog": 2, "version": 1}, format="json")
    response = api_a.patch(
        url(patient, "baseline"), {"ecog": 3}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert_error(response, 412, "stale")


def test_registration_patch_with_stale_version_is_412(api_a, coordinator_a):
    patient = register_patient(coordinator_a)
    reg = url(patient, "registration")
    assert api_a.patch(reg, {"initials": "CD", "version": 1}, format="json").status_code == 200
    assert_error(api_a.patch(reg, {"initials": "EF", "version": 1}, format="json"), 412, "stale")
    patient.refresh_from_db()
    assert patient.initials == "CD"


def test_change_to_completed_part_needs_a_reason(api_a, coordinator_a):
    patient = build_casebook(coordinator_a, complete=True)
    response = api_a.patch(url(patient, "baseline"), {"ecog": 2, "version": 1}, format="json")
    assert_error(response, 400, "invalid", field="reason")
    data = {"ecog": 2, "version": 1, "reason": "Source document re-read"}
    assert api_a.patch(url(patient, "baseline"), data, format="json").status_code == 200
    latest = Baseline.objects.get(patient=patient).history.order_by("-history_date").first()
    assert latest.history_change_reason == "Source document re-read"


def test_pi_writing_crf_data_is_403(api_pi, coordinator_a):
    patient = build_casebook(coordinator_a)
    response = api_pi.patch(url(patient, "baseline"), {"ecog": 2, "version": 1}, format="json")
    error = assert_error(response, 403, "forbidden")
    assert error["message"] == "Your role (Study PI) may read but not change CRF data."
    assert Baseline.objects.get(patient=patient).ecog == 1


def test_pi_adding_an_adverse_event_is_403(api_pi, coordinator_a):
    patient = build_casebook(coordinator_a)
    data = jsonable(builders.adverse_event(term="Rash maculo-papular"))
    assert_error(api_pi.post(url(patient, "adverse-events"), data, format="json"), 403, "forbidden")
    assert AdverseEvent.objects.filter(patient=patient).count() == 1


def test_pi_may_read_the_casebook(api_pi, coordinator_a):
    patient = build_casebook(coordinator_a)
    assert api_pi.get(url(patient, "baseline")).status_code == 200


# -- locked casebooks --------------------------------------------------------------------


def locked_patient(coordinator, investigator):
    patient = build_casebook(coordinator, complete=True)
    lock_casebook(patient, investigator, TEST_PASSWORD)
    return patient


def test_write_to_locked_casebook_is_409(api_a, coordinator_a, investigator_a):
    patient = locked_patient(coordinator_a, investigator_a)
    data = {"ecog": 2, "version": 1, "reason": "x"}
    error = assert_error(api_a.patch(url(patient, "baseline"), data, format="json"), 409, "locked")
    assert "locked" in error["message"]
    assert Baseline.objects.get(patient=patient).ecog == 1


def test_adding_an_ae_to_locked_casebook_is_409(api_a, coordinator_a, investigator_a):
    patient = locked_patient(coordinator_a, investigator_a)
    data = {**jsonable(builders.adverse_event(term="Fatigue")), "reason": "late report"}
    assert_error(api_a.post(url(patient, "adverse-events"), data, format="json"), 409, "locked")
    assert AdverseEvent.objects.filter(patient=patient).count() == 1


def test_deleting_from_locked_casebook_is_409(api_a, coordinator_a, investigator_a):
    patient = locked_patient(coordinator_a, investigator_a)
    ae = patient.adverse_events.get()
    response = api_a.delete(url(patient, "adverse-events", ae.pk) + "?reason=dup&version=1")
    assert_error(response, 409, "locked")
    assert AdverseEvent.objects.filter(pk=ae.pk).exists()


# -- repeating parts ---------------------------------------------------------------------


def test_adverse_event_is_added_and_listed(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    data = jsonable(builders.adverse_event(term="Fatigue", grade=2))
    response = api_a.post(url(patient, "adverse-events"), data, format="json")
    assert response.status_code == 201
    listed = api_a.get(url(patient, "adverse-events")).json()
    assert [(ae["term"], ae["grade"]) for ae in listed] == [("Cough", 1), ("Fatigue", 2)]


def test_adverse_event_before_second_line_start_names_onset_date(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    data = jsonable(builders.adverse_event(onset_date="2021-02-01"))
    response = api_a.post(url(patient, "adverse-events"), data, format="json")
    error = assert_error(response, 400, "invalid", field="onset_date")
    assert "1 Mar 2021" in error["fields"]["onset_date"][0]
    assert AdverseEvent.objects.filter(patient=patient).count() == 1


def test_grade_5_adverse_event_must_be_fatal(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    data = jsonable(builders.adverse_event(grade=5, outcome="recovered"))
    response = api_a.post(url(patient, "adverse-events"), data, format="json")
    error = assert_error(response, 400, "invalid", field="outcome")
    assert error["fields"]["outcome"] == [
        "A grade 5 adverse event is fatal: outcome must be 'Fatal'."
    ]


def test_unknown_choice_names_the_field(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    data = jsonable(builders.adverse_event(term="Headache-ish"))
    response = api_a.post(url(patient, "adverse-events"), data, format="json")
    assert_error(response, 400, "invalid", field="term")


def test_adverse_event_item_patch(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    ae = patient.adverse_events.get()
    data = {"grade": 3, "serious": True, "version": 1}
    response = api_a.patch(url(patient, "adverse-events", ae.pk), data, format="json")
    assert (response.status_code, response.json()["grade"]) == (200, 3)


def test_delete_needs_a_reason(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    ae = patient.adverse_events.get()
    response = api_a.delete(url(patient, "adverse-events", ae.pk) + "?version=1")
    assert_error(response, 400, "invalid", field="reason")
    assert AdverseEvent.objects.filter(pk=ae.pk).exists()


def test_delete_with_reason_in_query_leaves_an_audit_record(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    ae = patient.adverse_events.get()
    response = api_a.delete(url(patient, "adverse-events", ae.pk) + "?version=1&reason=Duplicate")
    assert response.status_code == 204
    assert not AdverseEvent.objects.filter(pk=ae.pk).exists()
    event = AuditEvent.objects.get(action="delete", patient=patient)
    assert (event.reason, event.user, event.detail["id"]) == ("Duplicate", coordinator_a, ae.pk)


def test_delete_with_reason_in_body(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    ae = patient.adverse_events.get()
    body = {"reason": "Entered twice", "version": 1}
    response = api_a.delete(url(patient, "adverse-events", ae.pk), body, format="json")
    assert response.status_code == 204
    assert AuditEvent.objects.get(action="delete").reason == "Entered twice"


def test_delete_with_stale_version_is_412(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    ae = patient.adverse_events.get()
    api_a.patch(url(patient, "adverse-events", ae.pk), {"grade": 2, "version": 1}, format="json")
    response = api_a.delete(url(patient, "adverse-events", ae.pk) + "?version=1&reason=dup")
    assert_error(response, 412, "stale")
    assert AdverseEvent.objects.filter(pk=ae.pk).exists()


def test_record_of_another_patient_is_404(api_a, coordinator_a):
    first, second = build_casebook(coordinator_a), build_casebook(coordinator_a)
    other_ae = second.adverse_events.get()
    assert_error(api_a.get(url(first, "adverse-events", other_ae.pk)), 404, "not_found")


def test_follow_up_dead_without_date_names_death_date(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    data = jsonable(builders.follow_up(contact_date="2022-06-01", vital_status="dead"))
    data["death_cause"] = "progression"
    response = api_a.post(url(patient, "follow-ups"), data, format="json")
    assert_error(response, 400, "invalid", field="death_date")
    assert FollowUp.objects.filter(patient=patient).count() == 1


def test_assessment_added_to_screen_failure_is_refused(api_a, coordinator_a):
    patient = register_patient(coordinator_a, exc_autoimmune_disease=True)
    response = api_a.post(
        url(patient, "assessments"), jsonable(builders.assessment()), format="json"
    )
    error = assert_error(response, 400, "invalid")
    assert error["message"] == "A screen failure has no casebook to fill."


def test_second_assessment_same_day_and_line_names_the_date(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    data = jsonable(builders.assessment())  # the same date and line as the first one
    response = api_a.post(url(patient, "assessments"), data, format="json")
    error = assert_error(response, 400, "invalid", field="assessment_date")
    assert error["fields"]["assessment_date"] == [
        "An assessment of this line on this date is already recorded."
    ]
