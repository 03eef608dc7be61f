"""Sign-in controls: lockout after repeated failures (shared by the login page, the admin and
the API, kept in the database for every process, keyed on an address a client cannot
forge), the password policy, self-service password change, idle logout and the login log."""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import RequestFactory, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from core.security.client import client_address
from core.security.middleware import LAST_ACTIVITY
from core.security.models import LoginEvent, PasswordState
from core.security.signals import SIGNED_IN_AT
from registry.models import User
from tests.conftest import service_missing
from tests.factories import TEST_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
NO_THROTTLE = {"user": "none", "login": "none", "token_create": "none"}


def fail_logins(client, count: int, username: str = "alice", **extra) -> list[int]:
    return [
        client.post(
            "/login/",
            {"username": username, "password": f"wrong-{n}"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
            **extra,
        ).status_code
        for n in range(count)
    ]


def sign_in(client, **extra):
    return client.post("/login/", {"username": "alice", "password": TEST_PASSWORD}, **extra)


# -- lockout -------------------------------------------------------------------------------


@override_settings(API_THROTTLE_RATES=NO_THROTTLE)
def test_five_failures_lock_the_account_even_for_the_right_password(client, coordinator_a):
    # A new X-Forwarded-For on every attempt changes nothing: it is not trusted.
    assert fail_logins(client, 5) == [200, 200, 200, 200, 429]
    response = client.post("/login/", {"username": "alice", "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert b"locked" in response.content
    assert "_auth_user_id" not in client.session
    kinds = list(LoginEvent.objects.filter(username="alice").values_list("kind", flat=True))
    assert kinds.count(LoginEvent.Kind.FAILURE) >= 5
    assert LoginEvent.Kind.LOCKOUT in kinds


@override_settings(API_THROTTLE_RATES=NO_THROTTLE)
def test_lockout_of_the_page_also_closes_the_api_token_endpoint(client, coordinator_a):
    fail_logins(client, 5)
    response = APIClient().post(
        "/api/v1/auth/token/",
        {"username": "alice", "password": TEST_PASSWORD, "name": "script"},
        format="json",
    )
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"


@override_settings(API_THROTTLE_RATES=NO_THROTTLE)
def test_lockout_follows_the_username_from_another_address(client, coordinator_a):
    fail_logins(client, 5, REMOTE_ADDR="198.51.100.7")
    response = client.post(
        "/login/", {"username": "alice", "password": TEST_PASSWORD}, REMOTE_ADDR="192.0.2.99"
    )
    assert response.status_code == 429


@override_settings(API_THROTTLE_RATES=NO_THROTTLE)
def test_other_users_from_another_address_still_sign_in(client, coordinator_a, coordinator_b):
    fail_logins(client, 5, REMOTE_ADDR="198.51.100.7")
    response = client.post(
        "/login/", {"username": "bob", "password": TEST_PASSWORD}, REMOTE_ADDR="192.0.2.99"
    )
    assert response.status_code == 302


@override_settings(API_THROTTLE_RATES=NO_THROTTLE)
def test_success_before_the_limit_resets_the_count(client, coordinator_a):
    fail_logins(client, 4)
    assert (
        client.post("/login/", {"username": "alice", "password": TEST_PASSWORD}).status_code == 302
    )
    client.logout()
    assert fail_logins(client, 4) == [200, 200, 200, 200]


@override_settings(API_THROTTLE_RATES=NO_THROTTLE)
def test_an_administrator_unlocks_from_the_admin(client, coordinator_a, admin_user):
    from axes.models import AccessAttempt

    fail_logins(client, 5)
    attempt = AccessAttempt.objects.get(username="alice")
    admin_client = type(client)()
    admin_client.force_login(admin_user)
    response = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert (
        client.post("/login/", {"username": "alice", "password": TEST_PASSWORD}).status_code == 302
    )


@pytest.mark.django_db(transaction=True)
@override_settings(API_THROTTLE_RATES=NO_THROTTLE)
def test_lockout_holds_in_another_process(client, coordinator_a):
    """A second Python process (another gunicorn worker) sees the same lock."""
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL (a database two processes share)")
    fail_logins(client, 5)
    script = (
        "import django; django.setup()\n"
        "from django.contrib.auth import authenticate\n"
        "from django.test import RequestFactory\n"
        "request = RequestFactory().post('/login/', REMOTE_ADDR='192.0.2.50')\n"
        f"print('user=', authenticate(request, username='alice', password={TEST_PASSWORD!r}))\n"
    )
    settings_db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**settings_db),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "user= None" in result.stdout


# -- the client address ------------------------------------------------------------------


def test_forwarded_for_is_ignored_without_trusted_proxies():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_address(request) == "10.0.0.5"


@override_settings(TRUSTED_PROXY_COUNT=1)
def test_one_trusted_proxy_gives_the_address_it_appended():
    # The client wrote "1.2.3.4"; the proxy appended the real peer, 198.51.100.20.
    request = RequestFactory().get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.20"
    )
    assert client_address(request) == "198.51.100.20"


@override_settings(TRUSTED_PROXY_COUNT=2)
def test_a_request_that_skipped_a_proxy_falls_back_to_the_peer():
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert client_address(request) == "10.0.0.5"


# -- passwords ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("probeuser1", "too short"),
        ("probeuser12345", "username"),
        ("123456789012345", "entirely numeric"),
        ("password1234", "too common"),
        ("short-1", "at least 12"),
    ],
)
def test_weak_passwords_are_refused_naming_the_rule(password, rule):
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user=User(username="probeuser"))
    assert any(rule in message for message in refused.value.messages)


def test_a_long_unrelated_passphrase_is_accepted():
    validate_password("amber-kettle-violin-42", user=User(username="probeuser"))


def test_every_user_changes_their_own_password(client, coordinator_a):
    other_device = type(client)()
    other_device.force_login(coordinator_a)
    client.force_login(coordinator_a)
    response = client.post(
        "/account/password/",
        {
            "old_password": TEST_PASSWORD,
            "new_password1": "amber-kettle-violin-42",
            "new_password2": "amber-kettle-violin-42",
        },
    )
    assert response.status_code == 302
    coordinator_a.refresh_from_db()
    assert coordinator_a.check_password("amber-kettle-violin-42")
    assert client.get("/").status_code == 200  # this session stays
    assert other_device.get("/").status_code == 302  # every other session ends
    assert LoginEvent.objects.filter(
        kind=LoginEvent.Kind.PASSWORD_CHANGED, user=coordinator_a
    ).exists()


def test_a_weak_new_password_is_refused_and_nothing_changes(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(
        "/account/password/",
        {"old_password": TEST_PASSWORD, "new_password1": "alice1", "new_password2": "alice1"},
    )
    assert response.status_code == 200
    assert "new_password2: This password is too short" in response.content.decode()
    coordinator_a.refresh_from_db()
    assert coordinator_a.check_password(TEST_PASSWORD)


def test_the_password_page_needs_a_sign_in(client):
    assert client.get("/account/password/")["Location"].startswith("/login/")


# -- sessions ------------------------------------------------------------------------------


def _age_session(client, key: str, seconds: int) -> None:
    session = client.session
    session[key] = int(time.time()) - seconds
    session.save()


def test_idle_session_is_signed_out_after_thirty_minutes(client, coordinator_a):
    client.force_login(coordinator_a)
    assert client.get("/").status_code == 200
    _age_session(client, LAST_ACTIVITY, 29 * 60)
    assert client.get("/").status_code == 200
    _age_session(client, LAST_ACTIVITY, 31 * 60)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert LoginEvent.objects.filter(kind=LoginEvent.Kind.IDLE_LOGOUT, detail="idle").count() == 1


@override_settings(SESSION_IDLE_MINUTES=5)
def test_idle_limit_is_a_setting(client, coordinator_a):
    client.force_login(coordinator_a)
    client.get("/")
    _age_session(client, LAST_ACTIVITY, 6 * 60)
    assert client.get("/").status_code == 302


def test_session_ends_twelve_hours_after_sign_in_even_when_active(client, coordinator_a):
    client.force_login(coordinator_a)
    _age_session(client, SIGNED_IN_AT, 12 * 3600 + 60)
    response = client.get("/")
    assert response.status_code == 302
    assert LoginEvent.objects.filter(detail="maximum session age").exists()


def test_pages_carry_the_idle_limit_for_the_warning(client, coordinator_a):
    client.force_login(coordinator_a)
    assert 'data-idle-seconds="1800"' in client.get("/").content.decode()


# -- the login log -------------------------------------------------------------------------


def test_login_log_records_success_and_failure_with_the_address(client, coordinator_a):
    client.post("/login/", {"username": "alice", "password": "nope"}, REMOTE_ADDR="192.0.2.1")
    client.post(
        "/login/", {"username": "alice", "password": TEST_PASSWORD}, REMOTE_ADDR="192.0.2.1"
    )
    events = LoginEvent.objects.filter(username="alice").order_by("id")
    assert [(e.kind, e.client, e.user_id) for e in events] == [
        ("failure", "192.0.2.1", coordinator_a.pk),
        ("success", "192.0.2.1", coordinator_a.pk),
    ]


def test_login_log_is_for_administrators_only(client, admin_user, data_manager):
    admin_user.is_staff = data_manager.is_staff = True
    data_manager.save(update_fields=["is_staff"])
    client.force_login(data_manager)
    assert client.get("/admin/security/loginevent/").status_code == 403
    client.force_login(admin_user)
    assert client.get("/admin/security/loginevent/").status_code == 200


# -- first sign-in and expiry ----------------------------------------------------------------


def test_an_account_created_by_an_administrator_sets_its_own_password(client, admin_user):
    admin_client = type(client)()
    admin_client.force_login(admin_user)
    response = admin_client.post(
        "/admin/registry/user/add/",
        {
            "username": "newcomer",
            "password1": "given-by-admin-2026",
            "password2": "given-by-admin-2026",
            "usable_password": "true",
            "role": "pi",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    client.post("/login/", {"username": "newcomer", "password": "given-by-admin-2026"})
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/account/password/"
    assert client.get("/api/v1/patients/").status_code == 403
    response = client.post(
        "/account/password/",
        {
            "old_password": "given-by-admin-2026",
            "new_password1": "my-own-quiet-harbour-7",
            "new_password2": "my-own-quiet-harbour-7",
        },
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@override_settings(PASSWORD_MAX_AGE_DAYS=90)
def test_an_expired_password_must_be_changed_at_sign_in(client, coordinator_a):
    PasswordState.objects.create(user=coordinator_a, changed_at=timezone.now() - timedelta(days=91))
    sign_in(client)
    assert client.get("/")["Location"] == "/account/password/"


@override_settings(PASSWORD_MAX_AGE_DAYS=90)
def test_a_recent_password_is_not_asked_again(client, coordinator_a):
    PasswordState.objects.create(user=coordinator_a, changed_at=timezone.now())
    sign_in(client)
    assert client.get("/").status_code == 200
