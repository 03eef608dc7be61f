"""Authentication: personal tokens (hashed, shown once, expiring, revocable), no anonymous access,
throttling of password guessing and token creation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from core.api import tokens as api_services
from core.api.models import ApiToken, hash_secret
from tests.api_support import assert_error, token_client
from tests.builders import build_casebook, register_patient
from tests.factories import TEST_PASSWORD

# Every endpoint, with a method and a patient placeholder: anonymous callers get 401 on all.
ENDPOINTS = [
    ("get", "/api/v1/me/"),
    ("get", "/api/v1/centers/"),
    ("get", "/api/v1/centers/AAA/"),
    ("get", "/api/v1/tokens/"),
    ("post", "/api/v1/tokens/"),
    ("delete", "/api/v1/tokens/1/"),
    ("get", "/api/v1/patients/"),
    ("post", "/api/v1/patients/"),
    ("get", "/api/v1/patients/{id}/"),
    ("get", "/api/v1/patients/{id}/registration/"),
    ("patch", "/api/v1/patients/{id}/registration/"),
    ("get", "/api/v1/patients/{id}/baseline/"),
    ("post", "/api/v1/patients/{id}/first-line/"),
    ("patch", "/api/v1/patients/{id}/second-line/"),
    ("get", "/api/v1/patients/{id}/adverse-events/"),
    ("post", "/api/v1/patients/{id}/adverse-events/"),
    ("get", "/api/v1/patients/{id}/assessments/1/"),
    ("patch", "/api/v1/patients/{id}/follow-ups/1/"),
    ("delete", "/api/v1/patients/{id}/follow-ups/1/"),
    ("post", "/api/v1/patients/{id}/complete/"),
    ("post", "/api/v1/patients/{id}/sections/baseline/complete/"),
    ("post", "/api/v1/patients/{id}/lock/"),
    ("post", "/api/v1/patients/{id}/unlock/"),
    ("get", "/api/v1/patients/{id}/history/"),
    ("get", "/api/schema/"),
]


def obtain(client, username, password, **extra):
    return client.post(
        "/api/v1/auth/token/",
        {"username": username, "password": password, "name": "script", **extra},
        format="json",
    )


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_anonymous_request_is_refused_with_401(method, url, coordinator_a):
    patient = register_patient(coordinator_a)
    response = getattr(APIClient(), method)(url.replace("{id}", patient.study_id), format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_password_gives_a_token_that_authenticates_as_its_owner(coordinator_a):
    response = obtain(APIClient(), "alice", TEST_PASSWORD)
    assert response.status_code == 201
    secret = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    me = client.get("/api/v1/me/").json()
    assert (me["username"], me["role"], me["center"]["code"]) == ("alice", "coordinator", "AAA")


def test_token_is_stored_as_its_sha256_only(coordinator_a):
    token, secret = api_services.token_create(user=coordinator_a, name="R")
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.key_hash == hash_secret(secret)
    assert secret not in {stored.key_hash, stored.prefix, stored.name}
    assert secret.startswith(stored.prefix)


def test_token_list_never_shows_the_secret(api_a):
    body = api_a.get("/api/v1/tokens/").json()
    assert len(body) == 1
    assert "token" not in body[0]
    assert body[0]["status"] == "active"


def test_wrong_password_gets_401_and_no_token(coordinator_a):
    response = obtain(APIClient(), "alice", "not-the-password")
    assert_error(response, 401, "authentication_failed")
    assert ApiToken.objects.count() == 0


def test_token_obtain_names_the_missing_field(db):
    response = APIClient().post("/api/v1/auth/token/", {"username": "alice"}, format="json")
    error = assert_error(response, 400, "invalid", field="password")
    assert error["message"] == "password: This field is required."


def test_expired_token_is_refused(coordinator_a):
    client = token_client(coordinator_a)
    ApiToken.objects.update(
        created_at=timezone.now() - timedelta(days=2), expires_at=timezone.now() - timedelta(days=1)
    )
    error = assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")
    assert "expired" in error["message"]


def test_revoked_token_is_refused(api_a, coordinator_a):
    token = ApiToken.objects.get(user=coordinator_a)
    assert api_a.delete(f"/api/v1/tokens/{token.pk}/").status_code == 204
    error = assert_error(api_a.get("/api/v1/me/"), 401, "authentication_failed")
    assert "revoked" in error["message"]


def test_user_cannot_revoke_another_users_token(api_a, coordinator_b):
    other, _ = api_services.token_create(user=coordinator_b, name="theirs")
    assert_error(api_a.delete(f"/api/v1/tokens/{other.pk}/"), 404, "not_found")
    other.refresh_from_db()
    assert other.revoked_at is None


def test_unknown_token_is_refused(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer reg_made-up")
    assert_error(client.get("/api/v1/me/"), 401, "authentication_failed")


def test_token_use_is_recorded_as_last_used(api_a, coordinator_a):
    api_a.get("/api/v1/me/")
    assert ApiToken.objects.get(user=coordinator_a).last_used_at is not None


def test_token_validity_beyond_the_maximum_is_refused(api_a):
    response = api_a.post("/api/v1/tokens/", {"name": "long", "days": 366}, format="json")
    error = assert_error(response, 400, "invalid", field="days")
    assert error["fields"]["days"] == ["Between 1 and 365 days."]


def test_token_created_through_api_expires_after_the_days_asked(api_a):
    response = api_a.post("/api/v1/tokens/", {"name": "short", "days": 7}, format="json")
    assert response.status_code == 201
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert (token.expires_at - token.created_at).days == 7


def test_session_login_authenticates_api_requests(client, coordinator_a):
    client.force_login(coordinator_a)
    assert client.get("/api/v1/me/").json()["username"] == "alice"


def test_session_write_without_csrf_token_is_refused(coordinator_a):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(coordinator_a)
    response = client.post("/api/v1/tokens/", {"name": "x"}, format="json")
    assert_error(response, 403, "forbidden")


def test_history_records_the_token_owner_as_the_author(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    ae = patient.adverse_events.get()
    api_a.patch(
        f"/api/v1/patients/{patient.study_id}/adverse-events/{ae.pk}/",
        {"grade": 2, "version": ae.version},
        format="json",
    )
    latest = ae.history.order_by("-history_date").first()
    assert (latest.history_user, latest.grade) == (coordinator_a, 2)


def test_schema_requires_login(client, coordinator_a):
    assert client.get("/api/schema/").status_code == 401
    client.force_login(coordinator_a)
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    assert "/api/v1/patients/" in response.json()["paths"]


def test_docs_pages_redirect_anonymous_users_to_login(client):
    for url in ("/api/docs/", "/api/redoc/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_docs_pages_use_local_assets(client, coordinator_a):
    client.force_login(coordinator_a)
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


# -- throttling -----------------------------------------------------------------------------


@override_settings(API_THROTTLE_RATES={"user": "none", "login": "3/minute", "token_create": "none"})
def test_token_endpoint_throttles_password_guessing(coordinator_a):
    client = APIClient()
    codes = [obtain(client, "alice", f"guess{i}").status_code for i in range(4)]
    assert codes == [401, 401, 401, 429]
    # Even the right password waits now: guessing cannot be confirmed by a success.
    response = obtain(client, "alice", TEST_PASSWORD)
    error = assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert error["message"].startswith("Request was throttled")


@override_settings(API_THROTTLE_RATES={"user": "none", "login": "2/minute", "token_create": "none"})
def test_login_page_throttles_password_guessing(client, coordinator_a):
    codes = [
        client.post("/login/", {"username": "alice", "password": "x"}).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]


@override_settings(API_THROTTLE_RATES={"user": "none", "login": "none", "token_create": "2/hour"})
def test_token_creation_is_throttled_per_user(api_a):
    codes = [
        api_a.post("/api/v1/tokens/", {"name": f"t{i}"}, format="json").status_code
        for i in range(3)
    ]
    assert codes == [201, 201, 429]


@override_settings(API_THROTTLE_RATES={"user": "3/minute", "login": "none", "token_create": "none"})
def test_requests_are_throttled_per_user_across_tokens(coordinator_a):
    first, second = token_client(coordinator_a), token_client(coordinator_a)
    codes = [c.get("/api/v1/me/").status_code for c in (first, second, first, second)]
    assert codes == [200, 200, 200, 429]


@override_settings(API_THROTTLE_RATES={"user": "1/minute", "login": "none", "token_create": "none"})
def test_one_users_throttle_does_not_slow_another(api_a, api_b):
    assert api_a.get("/api/v1/me/").status_code == 200
    assert api_a.get("/api/v1/me/").status_code == 429
    assert api_b.get("/api/v1/me/").status_code == 200


# -- the profile page ---------------------------------------------------------------------


def test_profile_page_creates_a_token_and_shows_it_once(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post("/profile/tokens/", {"name": "laptop", "days": "30"})
    assert response.status_code == 200
    secret = response.context["secret"]
    assert secret in response.content.decode()
    assert ApiToken.objects.get(user=coordinator_a).key_hash == hash_secret(secret)
    again = client.get("/profile/tokens/").content.decode()
    assert secret not in again
    assert "laptop" in again


def test_profile_page_names_the_field_of_a_bad_token_request(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post("/profile/tokens/", {"name": "", "days": "30"})
    assert response.status_code == 400
    assert response.context["errors"] == {"name": ["Required."]}
    assert ApiToken.objects.count() == 0


def test_profile_page_revokes_a_token(client, coordinator_a):
    token, _ = api_services.token_create(user=coordinator_a, name="old")
    client.force_login(coordinator_a)
    client.post("/profile/tokens/", {"revoke": str(token.pk)})
    token.refresh_from_db()
    assert token.status == "revoked"


def test_profile_page_requires_login(client):
    assert client.get("/profile/tokens/").status_code == 302
