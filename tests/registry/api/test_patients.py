"""Patient list, registration and the whole-casebook read; centre scoping on every endpoint."""

from __future__ import annotations

import pytest

from registry.models import AuditEvent, Patient
from tests import builders
from tests.api_support import assert_error, jsonable
from tests.builders import build_casebook, lock_casebook, register_patient
from tests.factories import TEST_PASSWORD

PATIENT_ENDPOINTS = [
    ("get", "/"),
    ("get", "/registration/"),
    ("patch", "/registration/"),
    ("get", "/baseline/"),
    ("post", "/baseline/"),
    ("patch", "/baseline/"),
    ("get", "/first-line/"),
    ("patch", "/second-line/"),
    ("get", "/assessments/"),
    ("post", "/assessments/"),
    ("get", "/adverse-events/"),
    ("post", "/adverse-events/"),
    ("get", "/adverse-events/{ae}/"),
    ("patch", "/adverse-events/{ae}/"),
    ("delete", "/adverse-events/{ae}/?reason=x&version=1"),
    ("get", "/follow-ups/"),
    ("post", "/complete/"),
    ("post", "/sections/baseline/complete/"),
    ("post", "/lock/"),
    ("get", "/history/"),
]


def study_ids(response) -> list[str]:
    return [row["study_id"] for row in response.json()["results"]]


# -- scoping -------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "suffix"), PATIENT_ENDPOINTS)
def test_other_centres_patient_is_404_on_every_endpoint(method, suffix, api_b, coordinator_a):
    patient = build_casebook(coordinator_a)
    ae = patient.adverse_events.get()
    url = f"/api/v1/patients/{patient.study_id}" + suffix.replace("{ae}", str(ae.pk))
    body = {"grade": 2, "version": 1, "reason": "x"}
    sends_body = method in ("post", "patch")
    response = getattr(api_b, method)(url, body if sends_body else None, format="json")
    assert_error(response, 404, "not_found")
    assert ae.history.count() == 1


def test_unlock_of_other_centres_patient_is_404(api_b, coordinator_a):
    patient = register_patient(coordinator_a)
    response = api_b.post(
        f"/api/v1/patients/{patient.study_id}/unlock/", {"reason": "x"}, format="json"
    )
    assert_error(response, 404, "not_found")


def test_list_shows_only_own_centre(api_b, coordinator_a, coordinator_b):
    own = [register_patient(coordinator_b).study_id for _ in range(2)]
    register_patient(coordinator_a)
    response = api_b.get("/api/v1/patients/")
    assert sorted(study_ids(response)) == sorted(own)


def test_list_filter_on_other_centre_finds_nothing(api_b, coordinator_a, coordinator_b):
    register_patient(coordinator_a)
    assert study_ids(api_b.get("/api/v1/patients/?center=AAA")) == []


def test_study_wide_role_lists_every_centre(api_dm, coordinator_a, coordinator_b):
    a, b = register_patient(coordinator_a), register_patient(coordinator_b)
    assert sorted(study_ids(api_dm.get("/api/v1/patients/"))) == [a.study_id, b.study_id]


def test_coordinator_cannot_register_at_another_centre(api_a, center_b):
    data = {**jsonable(builders.registration()), "center": "BBB"}
    response = api_a.post("/api/v1/patients/", data, format="json")
    error = assert_error(response, 403, "forbidden", field="center")
    assert error["message"] == "center: you can register patients at your own centre only."
    assert Patient.objects.count() == 0


# -- list ------------------------------------------------------------------------------------


def test_list_filters_by_enrolment_status(api_a, coordinator_a):
    enrolled = register_patient(coordinator_a)
    register_patient(coordinator_a, exc_autoimmune_disease=True)
    response = api_a.get("/api/v1/patients/?enrolment_status=enrolled")
    assert study_ids(response) == [enrolled.study_id]


def test_list_filters_by_locked(api_a, coordinator_a, investigator_a):
    locked = build_casebook(coordinator_a, complete=True)
    lock_casebook(locked, investigator_a, TEST_PASSWORD)
    open_one = register_patient(coordinator_a)
    assert study_ids(api_a.get("/api/v1/patients/?locked=true")) == [locked.study_id]
    assert study_ids(api_a.get("/api/v1/patients/?locked=false")) == [open_one.study_id]
    assert study_ids(api_a.get("/api/v1/patients/?casebook_status=locked")) == [locked.study_id]


def test_list_filters_by_registration_date_range(api_a, coordinator_a):
    from datetime import date

    register_patient(coordinator_a, registration_date=date(2021, 1, 5))
    march = register_patient(coordinator_a, registration_date=date(2021, 3, 5))
    register_patient(coordinator_a, registration_date=date(2021, 5, 5))
    response = api_a.get("/api/v1/patients/?registered_from=2021-03-01&registered_to=2021-03-31")
    assert study_ids(response) == [march.study_id]


def test_list_searches_by_study_id(api_a, coordinator_a):
    patients = [register_patient(coordinator_a) for _ in range(3)]
    assert study_ids(api_a.get("/api/v1/patients/?search=0002")) == [patients[1].study_id]


def test_list_bad_filter_value_names_the_filter(api_a):
    response = api_a.get("/api/v1/patients/?registered_from=yesterday")
    assert_error(response, 400, "invalid", field="registered_from")


def test_list_pages_with_a_cursor_newest_first(api_a, coordinator_a):
    ids = [register_patient(coordinator_a).study_id for _ in range(5)]
    first = api_a.get("/api/v1/patients/?page_size=2").json()
    second = api_a.get(first["next"]).json()
    third = api_a.get(second["next"]).json()
    pages = [[r["study_id"] for r in page["results"]] for page in (first, second, third)]
    assert pages == [[ids[4], ids[3]], [ids[2], ids[1]], [ids[0]]]
    assert third["next"] is None


@pytest.mark.parametrize("cohort", [5, 50])
def test_list_queries_do_not_grow_with_the_cohort(
    cohort, api_a, coordinator_a, django_assert_num_queries
):
    for _ in range(cohort):
        register_patient(coordinator_a)
    api_a.get("/api/v1/me/")  # first use: the token's owner is read once, then cached
    # The page of patients (centre joined, only the listed columns), and nothing per row.
    with django_assert_num_queries(1):
        response = api_a.get("/api/v1/patients/?page_size=50")
    assert len(response.json()["results"]) == cohort


def test_list_row_carries_every_listed_field(api_a, coordinator_a, investigator_a):
    # The list loads only the columns its fields read: each field still has its value.
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    patient.refresh_from_db()
    row = api_a.get("/api/v1/patients/").json()["results"][0]
    expected = {
        "study_id": patient.study_id,
        "center": "AAA",
        "sex": patient.sex,
        "registration_date": patient.registration_date.isoformat(),
        "enrolment_status": "enrolled",
        "screen_failure_reason": patient.screen_failure_reason,
        "casebook_status": "locked",
        "locked": True,
        "version": patient.version,
    }
    assert {k: row[k] for k in expected} == expected
    assert set(row) == {*expected, "created_at", "updated_at"}
    assert row["updated_at"].startswith(patient.updated_at.date().isoformat())


# -- registration ------------------------------------------------------------------------


def test_register_creates_an_enrolled_patient_at_own_centre(api_a, coordinator_a):
    response = api_a.post("/api/v1/patients/", jsonable(builders.registration()), format="json")
    assert response.status_code == 201
    body = response.json()
    assert (body["study_id"], body["center"], body["enrolment_status"]) == (
        "AAA-0001",
        "AAA",
        "enrolled",
    )
    assert response["Location"] == "/api/v1/patients/AAA-0001/"
    event = AuditEvent.objects.get(patient__study_id="AAA-0001")
    assert (event.action, event.user) == ("register", coordinator_a)


def test_register_ineligible_patient_is_a_screen_failure(api_a):
    data = jsonable(builders.registration(exc_autoimmune_disease=True))
    body = api_a.post("/api/v1/patients/", data, format="json").json()
    assert body["enrolment_status"] == "screen_failure"
    assert body["screen_failure_reason"] == "Exclusion 2: autoimmune disease (answered yes)"


def test_register_refuses_a_minor_with_the_rule_named(api_a):
    data = jsonable(builders.registration(date_of_birth="2010-01-01"))
    response = api_a.post("/api/v1/patients/", data, format="json")
    error = assert_error(response, 400, "invalid", field="date_of_birth")
    assert "18" in error["fields"]["date_of_birth"][0]
    assert Patient.objects.count() == 0


def test_register_refuses_a_malformed_date_naming_the_field(api_a):
    data = jsonable(builders.registration(registration_date="03/02/2021"))
    response = api_a.post("/api/v1/patients/", data, format="json")
    error = assert_error(response, 400, "invalid", field="registration_date")
    assert error["message"].startswith("registration_date: Date has wrong format.")


def test_register_refuses_a_duplicate_mrn_at_the_centre(api_a):
    data = jsonable(builders.registration())
    api_a.post("/api/v1/patients/", data, format="json")
    response = api_a.post("/api/v1/patients/", data, format="json")
    error = assert_error(response, 400, "invalid", field="mrn")
    assert error["fields"]["mrn"] == [
        "A patient with this MRN is already registered at this centre."
    ]
    assert Patient.objects.count() == 1


def test_study_wide_user_must_name_the_centre(api_admin, center_a):
    response = api_admin.post("/api/v1/patients/", jsonable(builders.registration()), format="json")
    assert_error(response, 400, "invalid", field="center")


def test_pi_cannot_register_patients(api_pi, center_a):
    data = {**jsonable(builders.registration()), "center": "AAA"}
    assert_error(api_pi.post("/api/v1/patients/", data, format="json"), 403, "forbidden")
    assert Patient.objects.count() == 0


# -- the whole casebook --------------------------------------------------------------------


def test_casebook_read_returns_every_part(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    body = api_a.get(f"/api/v1/patients/{patient.study_id}/").json()
    assert body["registration"]["mrn"] == patient.mrn
    assert body["baseline"]["height_cm"] == 170.0
    assert [a["target_sum_mm"] for a in body["assessments"]] == [100.0, 60.0]
    assert [ae["term"] for ae in body["adverse_events"]] == ["Cough"]
    assert body["sections"]["baseline"] == "incomplete"
    assert body["signature"] is None


def test_casebook_read_of_a_new_registration_has_no_parts(api_a, coordinator_a):
    # The single parts are joined to the patient's row: absent ones must read as null.
    patient = register_patient(coordinator_a)
    body = api_a.get(f"/api/v1/patients/{patient.study_id}/").json()
    assert [body[part] for part in ("baseline", "first_line", "second_line")] == [None] * 3
    assert (body["assessments"], body["sections"]["baseline"]) == ([], "not started")


def test_casebook_read_hides_identifiers_from_study_wide_roles(api_dm, coordinator_a):
    patient = build_casebook(coordinator_a)
    body = api_dm.get(f"/api/v1/patients/{patient.study_id}/").json()
    registration = body["registration"]
    assert [registration[f] for f in ("mrn", "initials", "date_of_birth", "notes")] == [None] * 4
    assert registration["sex"] == "M"


def test_casebook_read_of_locked_casebook_shows_signature(api_a, coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    body = api_a.get(f"/api/v1/patients/{patient.study_id}/").json()
    assert (body["locked"], body["signature"]["signed_by"]) == (True, "ivan")


@pytest.mark.parametrize("cohort", [5, 50])
def test_casebook_read_queries_do_not_grow_with_the_cohort(
    cohort, api_a, coordinator_a, django_assert_num_queries
):
    for _ in range(cohort - 1):
        register_patient(coordinator_a)
    patient = build_casebook(coordinator_a)
    api_a.get("/api/v1/me/")  # first use: the token's owner is read once, then cached
    # patient with its 3 single parts joined, 3 repeating parts, completions, signature
    with django_assert_num_queries(6):
        response = api_a.get(f"/api/v1/patients/{patient.study_id}/")
    assert response.status_code == 200


def test_unknown_patient_is_404(api_a):
    assert_error(api_a.get("/api/v1/patients/AAA-9999/"), 404, "not_found")
