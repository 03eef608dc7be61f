"""Hostile input never reaches the database or a serializer as a 500: oversized bodies are
413 before parsing; deep nesting, control characters, invalid UTF-8 and wrong content types
are 400 or 415 in the one error shape; the same rules hold for pages and the admin."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from core.api.models import ApiToken
from core.middleware import HostileInputMiddleware
from registry.models import Patient
from tests import builders
from tests.api_support import assert_error, jsonable

PATIENTS = "/api/v1/patients/"
TOKEN = "/api/v1/auth/token/"


def _raw(client, url, body: bytes, content_type="application/json", method="post"):
    return getattr(client, method)(url, data=body, content_type=content_type)


def test_body_over_the_limit_is_413_before_it_is_parsed(api_a, settings, monkeypatch):
    settings.MAX_BODY_BYTES = 2048
    from core.api import parsers

    def never(*args, **kwargs):
        raise AssertionError("the body was parsed")

    monkeypatch.setattr(parsers.StrictJSONParser, "parse", never)
    body = json.dumps({"notes": "x" * 4096}).encode()
    error = assert_error(_raw(api_a, PATIENTS, body), 413, "payload_too_large")
    assert "limit is 2048" in error["message"]
    assert Patient.objects.count() == 0


def test_body_over_the_limit_is_413_on_pages_too(client, settings):
    settings.MAX_BODY_BYTES = 2048
    response = client.post("/login/", {"username": "x" * 4096, "password": "y"})
    assert response.status_code == 413


@pytest.mark.parametrize("depth", [40, 1000, 100_000])
def test_deeply_nested_json_is_400_even_before_signing_in(client, depth):
    body = ("[" * depth + "]" * depth).encode()
    error = assert_error(_raw(client, TOKEN, body), 400, "parse_error")
    assert "nested deeper than 32 levels" in error["message"]


def test_nesting_within_the_limit_reaches_the_serializer(api_a):
    body = json.dumps({"notes": [[["deep"]]]}).encode()
    assert_error(_raw(api_a, PATIENTS, body), 400, "invalid")


def test_invalid_utf8_body_is_400(api_a):
    error = assert_error(_raw(api_a, PATIENTS, b'{"notes": "\xff\xfe"}'), 400, "parse_error")
    assert "not valid UTF-8" in error["message"]
    assert Patient.objects.count() == 0


@pytest.mark.parametrize("char", ["\u0000", "\u0007", "\u001b", "\u007f", "\u0085", "\ud800"])
def test_control_character_in_a_json_string_is_400_naming_the_field(api_a, center_a, char):
    data = jsonable(builders.registration()) | {"notes": f"fine{char}text"}
    body = json.dumps(data).encode()
    error = assert_error(_raw(api_a, PATIENTS, body), 400, "invalid", field="notes")
    assert "Control characters are not allowed" in error["message"]
    assert Patient.objects.count() == 0


def test_nul_in_a_centre_code_in_the_body_is_400(api_pi):
    body = json.dumps({"centers": ["AA\u0000A"]}).encode()
    assert_error(_raw(api_pi, "/api/v1/exports/", body), 400, "invalid", field="centers.0")


def test_nul_in_a_key_is_reported_without_echoing_the_key(api_a):
    body = json.dumps({"no\u0000tes": "x"}).encode()
    error = assert_error(_raw(api_a, PATIENTS, body), 400, "invalid", field="__all__")
    assert "\u0000" not in json.dumps(error, ensure_ascii=False)


def test_tab_and_newlines_are_text(api_a, center_a):
    data = jsonable(builders.registration()) | {"notes": "line one\r\n\tline two"}
    response = _raw(api_a, PATIENTS, json.dumps(data).encode())
    assert response.status_code == 201, response.content
    assert Patient.objects.get().notes == "line one\r\n\tline two"


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "multipart/form-data"])
def test_wrong_content_type_is_415(api_a, content_type):
    body = json.dumps(jsonable(builders.registration())).encode()
    assert_error(_raw(api_a, PATIENTS, body, content_type), 415, "unsupported_media_type")


@pytest.mark.parametrize("path", ["/api/v1/centers/AA%00A/", "/api/v1/centers/AA%1BA/"])
def test_control_character_in_the_url_is_400(api_a, path):
    error = assert_error(api_a.get(path), 400, "invalid")
    assert "Control characters are not allowed in the URL" in error["message"]


def test_invalid_utf8_in_the_url_is_400(rf):
    # A WSGI server passes the path's bytes as latin-1 text (PEP 3333); the test client
    # re-quotes broken bytes first, so the environ is built here as a server builds it.
    request = rf.get("/api/v1/centers/x/")
    request.META["PATH_INFO"] = "/api/v1/centers/AA\xffA/"
    response = HostileInputMiddleware(lambda request: pytest.fail("the view ran"))(request)
    assert response.status_code == 400
    error = json.loads(response.content)["error"]
    assert error["code"] == "invalid"
    assert "not valid UTF-8" in error["message"]


def test_control_character_in_a_query_parameter_is_400(api_a):
    assert_error(api_a.get("/api/v1/patients/?search=a%00b"), 400, "invalid")


def test_nul_in_an_admin_filter_is_400_not_a_database_error(admin_client):
    response = admin_client.get("/admin/registry/center/?q=A%00B")
    assert response.status_code == 400
    response = admin_client.get("/admin/registry/center/?code__exact=A%00B")
    assert response.status_code == 400


def test_nul_in_a_token_name_on_the_token_page_is_400(coordinator_a):
    client = Client()
    client.force_login(coordinator_a)
    response = client.post("/profile/tokens/", {"name": "laptop\u0000", "days": "30"})
    assert response.status_code == 400
    assert not ApiToken.objects.filter(user=coordinator_a).exists()


def test_nul_in_a_token_name_over_the_api_is_400(coordinator_a):
    from tests.factories import TEST_PASSWORD

    body = {"username": coordinator_a.username, "password": TEST_PASSWORD, "name": "a\u0000b"}
    response = _raw(Client(), TOKEN, json.dumps(body).encode())
    assert_error(response, 400, "invalid", field="name")
    assert not ApiToken.objects.filter(user=coordinator_a).exists()


def test_nul_in_a_page_form_field_is_400_naming_the_field(coordinator_a, center_a):
    client = Client()
    client.force_login(coordinator_a)
    response = client.post("/patients/register/", {"initials": "A\u0000B"})
    assert response.status_code == 400
    assert b"initials" in response.content
    assert not Patient.objects.exists()
