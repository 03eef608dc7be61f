"""Shared fixtures. REQUIRE_SERVICES=1 (set by CI) turns a missing service into a failure."""

import os

import pytest
from django.core.cache import cache

from tests.api_support import (  # noqa: F401 - fixtures for every test module
    api_a,
    api_admin,
    api_b,
    api_dm,
    api_investigator,
    api_pi,
)
from tests.factories import CenterFactory, UserFactory

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"


def service_missing(what: str) -> None:
    """Skip locally, fail in CI: a test that needs a real service never passes by skipping there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counts and rendered figures live in the cache (Redis in CI): each test starts
    # with none, so one test's requests never throttle the next and ids reused after a
    # rollback never find another test's figures.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def center_a(db):
    return CenterFactory(code="AAA", name="Alpha Hospital")


@pytest.fixture
def center_b(db):
    return CenterFactory(code="BBB", name="Beta Hospital")


@pytest.fixture
def coordinator_a(center_a):
    return UserFactory(username="alice", role="coordinator", center=center_a)


@pytest.fixture
def coordinator_b(center_b):
    return UserFactory(username="bob", role="coordinator", center=center_b)


@pytest.fixture
def investigator_a(center_a):
    return UserFactory(username="ivan", role="investigator", center=center_a)


@pytest.fixture
def data_manager(db):
    return UserFactory(username="dora", role="data_manager", center=None)


@pytest.fixture
def pi_user(db):
    return UserFactory(username="petra", role="pi", center=None)


@pytest.fixture
def admin_user(db):
    return UserFactory(username="adam", role="admin", center=None, is_staff=True, is_superuser=True)
