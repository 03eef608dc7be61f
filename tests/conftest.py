"""Shared fixtures. REQUIRE_SERVICES=1 (set by CI) turns a missing service into a failure."""

import os
import shutil

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from tests import people
from tests.api_support import (  # noqa: F401 - fixtures for every test module
    api_a,
    api_admin,
    api_b,
    api_dm,
    api_investigator,
    api_pi,
)

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"


def service_missing(what: str) -> None:
    """Skip locally, fail in CI: a test that needs a real service never passes by skipping there."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def rscript_for_module() -> str:
    """The Rscript executable, for a test module that compares with R: without it the module
    is skipped locally and fails in CI (called at the module's import)."""
    path = shutil.which("Rscript")
    if path is None:
        if REQUIRE_SERVICES:
            pytest.fail("Rscript not found and REQUIRE_SERVICES=1", pytrace=False)
        pytest.skip(
            "Rscript not installed (set REQUIRE_SERVICES=1 to make this a failure)",
            allow_module_level=True,
        )
    return path


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counts and rendered figures live in the cache (Redis in CI): each test starts
    # with none, so one test's requests never throttle the next and ids reused after a
    # rollback never find another test's figures.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _default_language():
    # A request by a user whose language is Chinese leaves Chinese active in the thread (the
    # middleware activates it): each test starts, and ends, in the default language.
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


# The named centres and people (tests.people): got or created by code and username, so in a
# module with shared data (tests.module_data) that made them already, these return its rows.
@pytest.fixture
def center_a(db):
    return people.center_a()


@pytest.fixture
def center_b(db):
    return people.center_b()


@pytest.fixture
def coordinator_a(center_a):
    return people.coordinator_a(center_a)


@pytest.fixture
def coordinator_b(center_b):
    return people.coordinator_b(center_b)


@pytest.fixture
def investigator_a(center_a):
    return people.investigator_a(center_a)


@pytest.fixture
def data_manager(db):
    return people.data_manager()


@pytest.fixture
def pi_user(db):
    return people.pi_user()


@pytest.fixture
def admin_user(db):
    return people.admin_user()
