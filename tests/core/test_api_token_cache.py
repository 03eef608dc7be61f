"""The token's owner kept in the shared cache (core/api/authentication.py): requests answered
from it make no query for the token, and every change that matters counts from the next
request — revocation, deactivation, a new centre, expiry — even while an entry is cached."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from core.api import authentication
from core.api import tokens as api_services
from core.api.models import ApiToken, hash_secret
from tests.api_support import assert_error
from tests.builders import register_patient


def _cached_entry(user):
    token = ApiToken.objects.get(user=user)
    return cache.get(authentication._cache_key(token.key_hash))


def test_a_used_token_is_cached_without_the_password_and_answers_without_a_query(
    api_a, coordinator_a, django_assert_num_queries
):
    assert api_a.get("/api/v1/me/").status_code == 200
    entry = _cached_entry(coordinator_a)
    assert entry["user"]["username"] == "alice"
    assert "password" not in entry["user"]
    with django_assert_num_queries(0):
        me = api_a.get("/api/v1/me/").json()
    assert (me["username"], me["role"], me["center"]["code"]) == ("alice", "coordinator", "AAA")


def test_revoked_token_is_refused_at_once_although_its_owner_was_cached(api_a, coordinator_a):
    assert api_a.get("/api/v1/me/").status_code == 200
    assert isinstance(_cached_entry(coordinator_a), dict)
    token = ApiToken.objects.get(user=coordinator_a)
    assert api_a.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    error = assert_error(api_a.get("/api/v1/me/"), 401, "authentication_failed")
    assert "revoked" in error["message"]


def test_token_revoked_on_the_profile_page_is_refused_at_once(client, api_a, coordinator_a):
    assert api_a.get("/api/v1/me/").status_code == 200
    token = ApiToken.objects.get(user=coordinator_a)
    client.force_login(coordinator_a)
    client.post("/profile/tokens/", {"revoke": str(token.pk)})
    assert_error(api_a.get("/api/v1/me/"), 401, "authentication_failed")


def test_deactivated_account_is_refused_at_once(api_a, coordinator_a):
    assert api_a.get("/api/v1/me/").status_code == 200
    coordinator_a.is_active = False
    coordinator_a.save()
    error = assert_error(api_a.get("/api/v1/me/"), 401, "authentication_failed")
    assert "disabled" in error["message"]


def test_a_move_to_another_centre_counts_from_the_next_request(
    api_a, coordinator_a, coordinator_b, center_b
):
    own = register_patient(coordinator_a)
    other = register_patient(coordinator_b)
    assert api_a.get(f"/api/v1/patients/{own.study_id}/").status_code == 200
    assert_error(api_a.get(f"/api/v1/patients/{other.study_id}/"), 404, "not_found")
    coordinator_a.center = center_b
    coordinator_a.save()
    assert_error(api_a.get(f"/api/v1/patients/{own.study_id}/"), 404, "not_found")
    assert api_a.get(f"/api/v1/patients/{other.study_id}/").status_code == 200
    listed = [row["study_id"] for row in api_a.get("/api/v1/patients/").json()["results"]]
    assert listed == [other.study_id]


def test_a_deleted_token_is_refused_at_once(api_a, coordinator_a):
    assert api_a.get("/api/v1/me/").status_code == 200
    ApiToken.objects.get(user=coordinator_a).delete()
    assert_error(api_a.get("/api/v1/me/"), 401, "authentication_failed")


def test_expiry_counts_while_the_owner_is_cached(coordinator_a, monkeypatch):
    _, secret = api_services.token_create(user=coordinator_a, name="short", days=1)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert client.get("/api/v1/me/").status_code == 200
    assert isinstance(cache.get(authentication._cache_key(hash_secret(secret))), dict)
    later = timezone.now() + timedelta(days=1, seconds=1)
    monkeypatch.setattr(authentication.timezone, "now", lambda: later)
    error = assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")
    assert "expired" in error["message"]


def test_a_read_made_before_a_revocation_is_not_cached_after_it(api_a, coordinator_a, monkeypatch):
    """The revocation lands between a request's database read and its caching of the result:
    that request was let in (it read first), but its stale copy must not serve the next."""
    read = authentication._token_from_database

    def read_then_revoke(key_hash):
        token = read(key_hash)
        api_services.token_revoke(user=coordinator_a, token_id=token.pk)
        return token

    monkeypatch.setattr(authentication, "_token_from_database", read_then_revoke)
    assert api_a.get("/api/v1/me/").status_code == 200
    monkeypatch.setattr(authentication, "_token_from_database", read)
    assert_error(api_a.get("/api/v1/me/"), 401, "authentication_failed")


def test_last_use_is_written_before_caching_so_cached_requests_write_nothing(
    api_a, coordinator_a, django_assert_num_queries
):
    # Used 40 s ago: within a minute, but the cached copy would outlive the minute.
    ApiToken.objects.update(last_used_at=timezone.now() - timedelta(seconds=40))
    api_a.get("/api/v1/me/")
    written = ApiToken.objects.get(user=coordinator_a).last_used_at
    assert timezone.now() - written < timedelta(seconds=5)
    with django_assert_num_queries(0):
        api_a.get("/api/v1/me/")
