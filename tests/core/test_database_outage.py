"""A lost database answers 503 with Retry-After: a page for people, the error shape for the
API; never a generic 500. The outage is simulated at the cursor: every query raises what
the driver raises when the server is gone."""

from __future__ import annotations

import contextlib
import json

import pytest
from django.db import InterfaceError, OperationalError, connection
from django.test import Client

from core.api.errors import RETRY_AFTER_SECONDS, json_handler500


@contextlib.contextmanager
def database_down(error=OperationalError):
    def refuse(execute, sql, params, many, context):
        raise error("server closed the connection unexpectedly")

    with connection.execute_wrapper(refuse):
        yield


@pytest.mark.parametrize("error", [OperationalError, InterfaceError])
def test_api_answers_503_in_the_error_shape_with_retry_after(api_a, error):
    with database_down(error):
        response = api_a.get("/api/v1/patients/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == "service_unavailable"


def test_api_write_answers_503_and_saves_nothing(api_a, center_a):
    from registry.models import Patient
    from tests import builders
    from tests.api_support import jsonable

    with database_down():
        response = api_a.post("/api/v1/patients/", jsonable(builders.registration()), format="json")
    assert response.status_code == 503
    assert not Patient.objects.exists()


def test_page_answers_a_503_page_with_retry_after(coordinator_a):
    # The sign-in checks (2FA, idle logout) load the session in a middleware, before any
    # view: there Django answers through handler500, which the test client would re-raise
    # instead of returning the response a browser gets.
    client = Client(raise_request_exception=False)
    client.force_login(coordinator_a)
    with database_down():
        response = client.get("/")
    assert response.status_code == 503
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert b"cannot reach its database" in response.content


def test_login_page_post_answers_503_when_the_database_is_away(db):
    with database_down():
        response = Client().post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 503


def test_a_database_error_outside_any_view_is_503_too(rf):
    # Raised in a middleware (e.g. loading the session), it reaches handler500 instead.
    request = rf.get("/api/v1/patients/")
    try:
        raise OperationalError("the server is gone")
    except OperationalError:
        response = json_handler500(request)
    assert response.status_code == 503
    assert json.loads(response.content)["error"]["code"] == "service_unavailable"
