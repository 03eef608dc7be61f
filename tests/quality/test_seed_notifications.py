"""``seed_demo``'s notifications: written by the services as the demo is entered, scoped to
each centre, with the demo accounts' addresses and preferences, and nothing emailed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from quality.management.commands.seed_demo_queries import DEMO_EMAIL_PREFERENCES
from quality.models import Notification, NotificationPreference
from registry.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        call_command("seed_demo", stdout=StringIO())
    yield
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


def test_each_coordinator_is_told_of_own_centre_queries_only(seeded):
    opened = Notification.objects.filter(kind=Notification.Kind.QUERY_OPENED)
    assert opened.count() == 8  # the eight demo queries, one coordinator per centre
    for note in opened.select_related("recipient__center", "patient__center"):
        assert note.recipient.role == "coordinator"
        assert note.recipient.center == note.patient.center


def test_data_manager_is_told_of_answers_and_closed_ones_are_read(seeded):
    answered = Notification.objects.filter(
        kind=Notification.Kind.QUERY_ANSWERED, recipient__username="datamanager"
    )
    assert answered.count() == 5  # two answered, three answered and closed
    assert answered.filter(read_at__isnull=True).count() == 2


def test_ready_to_sign_notifications_of_locked_casebooks_are_read(seeded):
    ready = Notification.objects.filter(kind=Notification.Kind.READY_TO_SIGN)
    assert ready.count() == 28  # every demo casebook was marked complete, then locked
    assert not ready.filter(read_at__isnull=True).exists()
    assert set(ready.values_list("recipient__role", flat=True)) == {"investigator"}


def test_demo_accounts_have_reserved_addresses_and_preferences(seeded):
    for user in User.objects.all():
        assert user.email == f"{user.username}@demo.invalid"
    prefs = dict(NotificationPreference.objects.values_list("user__username", "email"))
    assert prefs == {name: str(email) for name, email in DEMO_EMAIL_PREFERENCES.items()}


def test_seeding_emailed_nobody(seeded):
    assert not Notification.objects.filter(emailed_at__isnull=False).exists()
