"""Fixtures of the data-cut tests: the demo study seeded once per module, or a few locked
synthetic casebooks, committed so that freezing reads them as a PI's request would."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from analytics import services as analytics_services
from tests import people
from tests.builders import bulk_casebooks
from tests.module_data import committed_for_module


def _seed_demo() -> None:
    call_command("seed_demo", stdout=StringIO())


def _five_locked_casebooks() -> None:
    analytics_services.plan_seed_demo()
    bulk_casebooks(people.center_a(), 5, lock=True, seed=3)


@pytest.fixture(scope="module")
def demo_study(django_db_setup, django_db_blocker):
    """The demo study (28 locked casebooks, the reference plan and its run)."""
    yield from committed_for_module(django_db_blocker, _seed_demo)


@pytest.fixture(scope="module")
def small_study(django_db_setup, django_db_blocker):
    """Five locked synthetic casebooks at centre A and the reference plan."""
    yield from committed_for_module(django_db_blocker, _five_locked_casebooks)
