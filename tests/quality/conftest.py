"""A casebook to question: built through the registry's services by a site coordinator."""

import pytest
from django.conf import settings
from django.utils import translation

from tests.builders import build_casebook
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A request of a user with a saved language activates it in this thread and leaves it
    active; each test ends back in the default, so the next one's English holds."""
    with translation.override(settings.LANGUAGE_CODE, deactivate=True):
        yield


@pytest.fixture
def casebook(coordinator_a):
    """An enrolled, complete casebook of centre AAA (weight 65 kg, one adverse event)."""
    return build_casebook(coordinator_a, complete=True)


@pytest.fixture
def investigator_b(center_b):
    return UserFactory(username="ines", role="investigator", center=center_b)
