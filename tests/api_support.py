"""API test helpers: clients authenticated by a real personal token, and error-shape checks.

The ``api_*`` fixtures are made available to every test by ``tests/conftest.py``.
"""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from core.api import tokens as api_services


def token_client(user) -> APIClient:
    _, secret = api_services.token_create(user=user, name="tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture
def api_a(coordinator_a):
    return token_client(coordinator_a)


@pytest.fixture
def api_b(coordinator_b):
    return token_client(coordinator_b)


@pytest.fixture
def api_investigator(investigator_a):
    return token_client(investigator_a)


@pytest.fixture
def api_dm(data_manager):
    return token_client(data_manager)


@pytest.fixture
def api_pi(pi_user):
    return token_client(pi_user)


@pytest.fixture
def api_admin(admin_user):
    return token_client(admin_user)


def jsonable(data: dict) -> dict:
    """Builder dicts hold dates and numbers; JSON bodies hold strings and numbers."""
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in data.items()}


def assert_error(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == code
    if field is not None:
        assert field in body["error"]["fields"], body
    return body["error"]
