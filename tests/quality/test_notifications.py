"""Notifications: who is told (role and centre), the emails (at once, daily digest, never),
their content (no identifiers, no query text), and the in-app list.

Emails go to Django's locmem outbox (``mail.outbox``). Notifications are written with the
event; their emails are queued after the commit, so each event runs inside
``django_capture_on_commit_callbacks(execute=True)``, as a committed request would.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from core.errors import ApplicationError
from quality import checks, notifications, services
from quality.models import Notification, NotificationPreference, Query
from registry import services as registry_services
from registry.models import Baseline
from tests.builders import build_casebook
from tests.factories import TEST_PASSWORD, UserFactory

QUESTION = "Weight differs from the clinic letter of Mrs Example; please check."
ANSWER = "Checked with the ward sister; weight is right."

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(center_a, center_b, coordinator_a, coordinator_b, investigator_a, data_manager):
    """Everyone with an email address, plus Ines (investigator at BBB) and a second DM."""
    investigator_b = UserFactory(username="ines", role="investigator", center=center_b)
    other_dm = UserFactory(username="dmitri", role="data_manager", center=None)
    staff = [coordinator_a, coordinator_b, investigator_a, investigator_b, data_manager, other_dm]
    for user in staff:
        user.email = f"{user.username}@hospital.example"
        user.save(update_fields=["email"])
    return {u.username: u for u in staff}


@pytest.fixture
def patient(coordinator_a, django_capture_on_commit_callbacks):
    """An enrolled casebook of AAA with every part entered, not yet marked complete."""
    with django_capture_on_commit_callbacks(execute=True):
        return build_casebook(coordinator_a)


def raise_query(dm, patient, commit) -> Query:
    with commit(execute=True):
        return services.query_raise(
            user=dm, patient=patient, section="baseline", field="weight_kg", text=QUESTION
        )


def recipients(kind: str) -> set[str]:
    return set(Notification.objects.filter(kind=kind).values_list("recipient__username", flat=True))


# -- who is told -----------------------------------------------------------------------------


def test_query_opened_tells_the_centres_coordinators_only(
    people, patient, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    assert recipients("query_opened") == {"alice"}
    assert [m.to for m in mail.outbox] == [["alice@hospital.example"]]


def test_coordinator_of_another_centre_never_hears_of_centre_a(
    people, patient, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    query = raise_query(people["dora"], patient, commit)
    with commit(execute=True):
        services.query_answer(user=people["alice"], query_id=query.pk, text=ANSWER)
    with commit(execute=True):
        services.query_reopen(user=people["dora"], query_id=query.pk, text="Not convinced.")
    with commit(execute=True):
        registry_services.casebook_mark_complete(user=people["alice"], patient=patient)
    assert Notification.objects.count() > 0
    assert not Notification.objects.filter(recipient__center__code="BBB").exists()
    sent_to = {address for m in mail.outbox for address in m.to}
    assert sent_to.isdisjoint({"bob@hospital.example", "ines@hospital.example"})


def test_answer_tells_the_data_manager_who_raised_it(
    people, patient, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    query = raise_query(people["dora"], patient, commit)
    mail.outbox.clear()
    with commit(execute=True):
        services.query_answer(user=people["alice"], query_id=query.pk, text=ANSWER)
    assert recipients("query_answered") == {"dora"}
    assert [m.to for m in mail.outbox] == [["dora@hospital.example"]]


def test_answer_to_a_rules_query_tells_every_data_manager(
    people, coordinator_a, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    with commit(execute=True):
        patient = build_casebook(coordinator_a)
    Baseline.objects.filter(patient=patient).update(weight_kg=30)  # BMI 10.4: below 15
    checks.rules_run([patient.pk])
    query = Query.objects.get(patient=patient, rule_code="bmi_low")
    assert not Notification.objects.filter(query=query).exists()  # a rule's query: nobody
    with commit(execute=True):
        services.query_answer(user=people["alice"], query_id=query.pk, text=ANSWER)
    assert recipients("query_answered") == {"dora", "dmitri"}


def test_reopened_query_tells_the_centres_coordinators(
    people, patient, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    query = raise_query(people["dora"], patient, commit)
    with commit(execute=True):
        services.query_answer(user=people["alice"], query_id=query.pk, text=ANSWER)
    with commit(execute=True):
        services.query_reopen(user=people["dora"], query_id=query.pk, text="Not convinced.")
    assert recipients("query_reopened") == {"alice"}


def test_casebook_complete_tells_the_centres_investigators(
    people, patient, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.casebook_mark_complete(user=people["alice"], patient=patient)
    assert recipients("ready_to_sign") == {"ivan"}
    assert [m.to for m in mail.outbox] == [["ivan@hospital.example"]]
    assert patient.study_id in mail.outbox[0].subject


def test_locking_the_casebook_marks_its_ready_to_sign_notifications_read(
    people, patient, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    with commit(execute=True):
        registry_services.casebook_mark_complete(user=people["alice"], patient=patient)
    assert notifications.unread_count(people["ivan"]) == 1
    with commit(execute=True):
        registry_services.casebook_lock(
            user=people["ivan"],
            patient=patient,
            password=TEST_PASSWORD,
            meaning=registry_services.SIGNATURE_MEANING,
        )
    assert notifications.unread_count(people["ivan"]) == 0


def test_refused_write_notifies_nobody(people, patient, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ApplicationError):
        services.query_raise(
            user=people["dora"], patient=patient, section="baseline", field="nope", text="?"
        )
    assert Notification.objects.count() == 0
    assert mail.outbox == []


def test_inactive_coordinator_is_not_told(people, patient, django_capture_on_commit_callbacks):
    people["alice"].is_active = False
    people["alice"].save(update_fields=["is_active"])
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    assert recipients("query_opened") == set()


# -- what an email holds ---------------------------------------------------------------------


def test_email_names_study_part_field_and_link_but_no_identifier_or_text(
    people, patient, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    query = raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    (message,) = mail.outbox
    text = message.subject + "\n" + message.body
    assert patient.study_id in text
    assert "AAA" in text
    assert "Baseline" in text and "Weight (kg)" in text
    assert f"http://127.0.0.1:8000/quality/queries/{query.pk}/" in text
    for secret in (patient.mrn, patient.initials, patient.date_of_birth.isoformat(), "Example"):
        assert secret not in text
    assert QUESTION not in text
    assert "\n" not in message.subject


# -- immediate, digest, none -----------------------------------------------------------------


def set_pref(user, email: str) -> None:
    notifications.preference_set(user=user, email=email)


def test_daily_digest_user_gets_no_email_at_once_then_one_digest(
    people, coordinator_a, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    set_pref(people["alice"], NotificationPreference.Email.DAILY)
    with commit(execute=True):
        first = build_casebook(coordinator_a)
        second = build_casebook(coordinator_a)
    mail.outbox.clear()
    q1 = raise_query(people["dora"], first, commit)
    q2 = raise_query(people["dora"], second, commit)
    assert mail.outbox == []

    assert notifications.send_digests() == 1
    (digest,) = mail.outbox
    assert digest.to == ["alice@hospital.example"]
    assert "2 notifications" in digest.subject
    for query in (q1, q2):
        assert f"/quality/queries/{query.pk}/" in digest.body
    assert QUESTION not in digest.body


def test_digest_is_idempotent(people, patient, django_capture_on_commit_callbacks):
    set_pref(people["alice"], NotificationPreference.Email.DAILY)
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    assert notifications.send_digests() == 1
    assert notifications.send_digests() == 0
    assert len(mail.outbox) == 1
    assert not Notification.objects.filter(emailed_at__isnull=True).exists()


def test_each_digest_user_gets_one_digest_of_their_own(
    people, patient, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    set_pref(people["alice"], NotificationPreference.Email.DAILY)
    set_pref(people["dora"], NotificationPreference.Email.DAILY)
    query = raise_query(people["dora"], patient, commit)
    with commit(execute=True):
        services.query_answer(user=people["alice"], query_id=query.pk, text=ANSWER)
    raise_query(people["dora"], patient, commit)
    mail.outbox.clear()
    assert notifications.send_digests() == 2
    by_address = {m.to[0]: m for m in mail.outbox}
    assert set(by_address) == {"alice@hospital.example", "dora@hospital.example"}
    assert "2 notifications" in by_address["alice@hospital.example"].subject
    assert "1 notification" in by_address["dora@hospital.example"].subject


def test_immediate_notification_is_not_emailed_again_by_the_digest(
    people, patient, django_capture_on_commit_callbacks
):
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    later = timezone.now() + timedelta(days=1)
    assert notifications.send_digests(now=later) == 0
    assert len(mail.outbox) == 1


def test_failed_immediate_email_goes_out_with_the_next_digest(
    people, patient, django_capture_on_commit_callbacks, settings
):
    settings.EMAIL_BACKEND = "tests.quality.failing_mail.Backend"
    query = raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    assert Query.objects.filter(pk=query.pk).exists()  # the raise itself stands
    assert Notification.objects.get(recipient=people["alice"]).emailed_at is None

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    assert notifications.send_digests() == 0  # too early: the immediate send may still run
    assert notifications.send_digests(now=timezone.now() + timedelta(minutes=11)) == 1
    assert mail.outbox[0].to == ["alice@hospital.example"]


def test_no_email_preference_sends_nothing_ever(
    people, patient, django_capture_on_commit_callbacks
):
    set_pref(people["alice"], NotificationPreference.Email.NONE)
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    assert notifications.send_digests(now=timezone.now() + timedelta(days=2)) == 0
    assert mail.outbox == []
    assert Notification.objects.filter(recipient=people["alice"]).count() == 1


def test_user_without_email_address_still_sees_the_notification(
    people, patient, django_capture_on_commit_callbacks
):
    people["alice"].email = ""
    people["alice"].save(update_fields=["email"])
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    assert mail.outbox == []
    assert Notification.objects.filter(recipient=people["alice"]).count() == 1


def test_digest_task_runs_through_celery(people, patient, django_capture_on_commit_callbacks):
    from quality.tasks import send_notification_digests

    set_pref(people["alice"], NotificationPreference.Email.DAILY)
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    assert send_notification_digests.apply().get() == "sent 1 digests"
    assert len(mail.outbox) == 1


def test_beat_schedule_runs_the_digest_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["send-notification-digests"]
    assert entry["task"] == "quality.send_notification_digests"
    assert entry["schedule"].hour == {6}


# -- the pages -------------------------------------------------------------------------------

LIST = reverse("quality:notification_list")
PREFS = reverse("quality:notification_preferences")


def test_list_shows_own_notifications_and_header_badge(
    client, people, patient, django_capture_on_commit_callbacks
):
    query = raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    client.force_login(people["alice"])
    page = client.get(LIST).content.decode()
    assert f"/quality/queries/{query.pk}/" in page
    assert 'data-unread="1"' in page  # the header's badge
    client.force_login(people["bob"])
    page = client.get(LIST).content.decode()
    assert f"/quality/queries/{query.pk}/" not in page
    assert 'data-unread="0"' in page


def test_mark_one_read_and_all_read(
    client, people, coordinator_a, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    with commit(execute=True):
        books = [build_casebook(coordinator_a) for _ in range(3)]
    for book in books:
        raise_query(people["dora"], book, commit)
    alice = people["alice"]
    first = Notification.objects.filter(recipient=alice).order_by("pk").first()
    client.force_login(alice)
    assert client.post(LIST, {"id": first.pk}).status_code == 302
    assert notifications.unread_count(alice) == 2
    assert client.post(LIST).status_code == 302
    assert notifications.unread_count(alice) == 0


def test_cannot_mark_another_users_notification_read(
    client, people, patient, django_capture_on_commit_callbacks
):
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    note = Notification.objects.get(recipient=people["alice"])
    client.force_login(people["bob"])
    assert client.post(LIST, {"id": note.pk}).status_code == 302
    note.refresh_from_db()
    assert note.read_at is None


def test_mark_read_with_a_bad_id_is_400_and_changes_nothing(
    client, people, patient, django_capture_on_commit_callbacks
):
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    client.force_login(people["alice"])
    for bad in ("1; drop", "²", "9" * 30):
        response = client.post(LIST, {"id": bad})
        assert response.status_code == 400
        assert b"id" in response.content
    assert notifications.unread_count(people["alice"]) == 1


def test_notification_of_a_patient_no_longer_visible_is_hidden(
    client, people, patient, django_capture_on_commit_callbacks, center_b
):
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    alice = people["alice"]
    alice.center = center_b  # moved to another hospital
    alice.save(update_fields=["center"])
    assert notifications.unread_count(alice) == 0
    client.force_login(alice)
    assert patient.study_id not in client.get(LIST).content.decode()


def test_preferences_page_saves_choice(client, people):
    client.force_login(people["alice"])
    assert client.get(PREFS).status_code == 200
    assert client.post(PREFS, {"email": "daily"}).status_code == 302
    assert notifications.preference_for(people["alice"]) == "daily"


def test_preferences_page_refuses_unknown_choice(client, people):
    client.force_login(people["alice"])
    response = client.post(PREFS, {"email": "hourly"})
    assert response.status_code == 400
    assert "hourly" in response.content.decode()  # Django names the refused choice
    assert not NotificationPreference.objects.filter(user=people["alice"]).exists()


def test_notification_pages_need_a_login(client):
    for url in (LIST, PREFS):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_pages_fit_a_phone(client, people, patient, django_capture_on_commit_callbacks):
    raise_query(people["dora"], patient, django_capture_on_commit_callbacks)
    client.force_login(people["alice"])
    page = client.get(LIST).content.decode()
    assert 'name="viewport"' in page
    assert 'class="list stack"' in page  # the tables stack into cards under 640 px
