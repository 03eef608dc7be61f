"""One error shape for every error, and safe retries with Idempotency-Key."""

from __future__ import annotations

import json
import re

import pytest
from django.test import RequestFactory

from core.api.errors import json_handler404, json_handler500
from registry import services
from registry.models import AdverseEvent, Patient
from tests import builders
from tests.api_support import assert_error, jsonable
from tests.builders import build_casebook


def test_unknown_api_url_is_404_in_the_error_shape(api_a):
    response = api_a.get("/api/v1/no-such-thing/")
    assert response["Content-Type"] == "application/json"
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("study_id", ["aaa-0001", "AAA-01"])
def test_malformed_study_id_is_404_not_a_database_error(api_a, study_id):
    response = api_a.patch(
        f"/api/v1/patients/{study_id}/follow-ups/1/", {"version": 1}, format="json"
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("study_id", ["%00%C2%89", "AAA-0001%00"])
def test_study_id_with_control_characters_is_400_not_a_database_error(api_a, study_id):
    # Found by schemathesis on PostgreSQL: a NUL byte in the path reached the query (500).
    # Control characters in a URL are refused before any view runs (core.middleware).
    response = api_a.patch(
        f"/api/v1/patients/{study_id}/follow-ups/1/", {"version": 1}, format="json"
    )
    assert_error(response, 400, "invalid")


def test_json_404_handler_answers_api_paths_in_the_error_shape(rf: RequestFactory):
    response = json_handler404(rf.get("/api/v1/nowhere/"), None)
    assert response.status_code == 404
    assert json.loads(response.content)["error"]["code"] == "not_found"


def test_json_500_handler_answers_api_paths_in_the_error_shape(rf: RequestFactory):
    response = json_handler500(rf.get("/api/v1/patients/"))
    assert response.status_code == 500
    assert json.loads(response.content)["error"]["code"] == "server_error"


def test_page_paths_keep_html_404(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_wrong_method_is_405_in_the_error_shape(api_a):
    response = api_a.put("/api/v1/me/", {}, format="json")
    error = assert_error(response, 405, "method_not_allowed")
    assert error["message"] == 'Method "PUT" not allowed.'


def test_unexpected_error_is_500_without_a_stack_trace(api_a, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(services, "patient_register", explode)
    response = api_a.post("/api/v1/patients/", jsonable(builders.registration()), format="json")
    error = assert_error(response, 500, "server_error")
    text = response.content.decode()
    assert "secret internal detail" not in text
    assert "Traceback" not in text
    assert "reference" in error["message"]


def test_malformed_json_is_a_parse_error(api_a):
    response = api_a.post("/api/v1/patients/", "{not json", content_type="application/json")
    assert_error(response, 400, "parse_error")


def test_form_encoded_body_is_415(api_a):
    response = api_a.post("/api/v1/patients/", {"mrn": "1"})  # multipart
    assert_error(response, 415, "unsupported_media_type")


# -- idempotency -------------------------------------------------------------------------


def post_patient(client, data, key):
    return client.post("/api/v1/patients/", data, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_repeated_create_with_same_key_returns_the_first_patient(api_a):
    data = jsonable(builders.registration())
    first = post_patient(api_a, data, "key-1")
    second = post_patient(api_a, data, "key-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert second["Location"] == first["Location"]
    assert Patient.objects.count() == 1


def test_same_key_with_different_body_is_refused(api_a):
    post_patient(api_a, jsonable(builders.registration()), "key-1")
    response = post_patient(api_a, jsonable(builders.registration()), "key-1")
    assert_error(response, 422, "idempotency_key_reused")
    assert Patient.objects.count() == 1


def test_keys_are_per_user(api_a, api_b):
    first = post_patient(api_a, jsonable(builders.registration()), "shared")
    second = post_patient(api_b, jsonable(builders.registration()), "shared")
    assert (first.json()["study_id"], second.json()["study_id"]) == ("AAA-0001", "BBB-0001")


def test_refused_request_does_not_consume_the_key(api_a):
    bad = jsonable(builders.registration(date_of_birth="2015-01-01"))
    assert post_patient(api_a, bad, "key-1").status_code == 400
    good = jsonable(builders.registration())
    assert post_patient(api_a, good, "key-1").status_code == 201
    assert Patient.objects.count() == 1


def test_repeated_adverse_event_create_adds_one(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    data = jsonable(builders.adverse_event(term="Fatigue"))
    for _ in range(2):
        response = api_a.post(
            f"/api/v1/patients/{patient.study_id}/adverse-events/",
            data,
            format="json",
            HTTP_IDEMPOTENCY_KEY="ae-1",
        )
        assert response.status_code == 201
    assert AdverseEvent.objects.filter(patient=patient, term="Fatigue").count() == 1


def test_replayed_lock_answers_like_the_first(api_investigator, coordinator_a):
    patient = build_casebook(coordinator_a, complete=True)
    from tests.factories import TEST_PASSWORD

    body = {"password": TEST_PASSWORD, "meaning": services.SIGNATURE_MEANING}
    url = f"/api/v1/patients/{patient.study_id}/lock/"
    first = api_investigator.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="lock-1")
    again = api_investigator.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="lock-1")
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json()


@pytest.mark.parametrize("key", ["", "x" * 256, "clé"])
def test_malformed_key_is_refused(api_a, key):
    response = post_patient(api_a, jsonable(builders.registration()), key)
    assert_error(response, 400, "invalid", field="Idempotency-Key")
    assert Patient.objects.count() == 0


def test_schema_states_the_key_rules(api_a):
    # Found with schemathesis: as a bare string, the schema let clients generate "" or "clé",
    # which the server refuses (400) before it reads the body.
    operation = api_a.get("/api/schema/?format=json").json()["paths"]["/api/v1/patients/"]["post"]
    (key,) = [p for p in operation["parameters"] if p["name"] == "Idempotency-Key"]
    schema = key["schema"]
    assert (schema["minLength"], schema["maxLength"]) == (1, 255)
    pattern = re.compile(schema["pattern"])
    assert pattern.search("3f1c9a52-7f0e-4a8b-9f39-0c2c7e1d5b6a")
    assert not any(pattern.search(bad) for bad in ("", " x", "clé"))


# -- strict input ------------------------------------------------------------------------


def test_unknown_query_parameter_is_refused_by_name(api_a):
    response = api_a.get("/api/v1/patients/?centre=AAA")
    error = assert_error(response, 400, "invalid", field="centre")
    assert error["message"] == "centre: unknown query parameter."


def test_string_for_a_boolean_is_refused(api_a):
    data = {**jsonable(builders.registration()), "inc_confirmed_sclc": "yes"}
    response = api_a.post("/api/v1/patients/", data, format="json")
    error = assert_error(response, 400, "invalid", field="inc_confirmed_sclc")
    assert error["fields"]["inc_confirmed_sclc"] == ["Expected true or false, got str."]
    assert Patient.objects.count() == 0


def test_number_for_a_text_field_is_refused(api_a):
    data = {**jsonable(builders.registration()), "initials": 42}
    response = api_a.post("/api/v1/patients/", data, format="json")
    assert_error(response, 400, "invalid", field="initials")


def test_repeated_query_parameter_is_refused(api_a):
    response = api_a.get("/api/v1/patients/?page_size=5&page_size=6")
    assert_error(response, 400, "invalid", field="page_size")


@pytest.mark.parametrize("value", ["abc", "0", "201", "null"])
def test_bad_page_size_is_refused(api_a, value):
    response = api_a.get(f"/api/v1/patients/?page_size={value}")
    error = assert_error(response, 400, "invalid", field="page_size")
    assert error["fields"]["page_size"] == ["A whole number from 1 to 200."]


def test_blank_filter_value_is_refused(api_a):
    response = api_a.get("/api/v1/patients/?locked=")
    assert_error(response, 400, "invalid", field="locked")


def test_empty_string_for_a_nullable_number_is_refused(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    response = api_a.patch(
        f"/api/v1/patients/{patient.study_id}/baseline/",
        {"pack_years": "", "version": 1},
        format="json",
    )
    error = assert_error(response, 400, "invalid", field="pack_years")
    assert error["fields"]["pack_years"] == ["Expected a number, got str."]
