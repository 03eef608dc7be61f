"""A casebook to question: built through the registry's services by a site coordinator."""

import pytest

from tests.builders import build_casebook
from tests.factories import UserFactory


@pytest.fixture
def casebook(coordinator_a):
    """An enrolled, complete casebook of centre AAA (weight 65 kg, one adverse event)."""
    return build_casebook(coordinator_a, complete=True)


@pytest.fixture
def investigator_b(center_b):
    return UserFactory(username="ines", role="investigator", center=center_b)
