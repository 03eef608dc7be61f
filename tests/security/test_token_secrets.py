"""A token's secret is shown once and written nowhere: not in the token table (a hash) and
not in the idempotency store, whose replay says the secret was shown once."""

import hashlib
import json

from core.api.idempotency import SHOWN_ONCE
from core.api.models import ApiToken, IdempotencyRecord


def create(api, key="retry-1"):
    return api.post("/api/v1/tokens/", {"name": "nightly"}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_the_idempotency_store_keeps_no_secret(api_a):
    response = create(api_a)
    assert response.status_code == 201
    secret = response.json()["token"]
    stored = IdempotencyRecord.objects.get(key="retry-1")
    assert secret not in json.dumps(stored.response_body)
    assert secret not in json.dumps(stored.response_headers)
    assert stored.response_body["token"] is None
    # Only the hash is in the token table.
    token = ApiToken.objects.get(name="nightly")
    assert token.key_hash == hashlib.sha256(secret.encode()).hexdigest()


def test_a_replay_says_the_secret_was_shown_once(api_a):
    first = create(api_a).json()
    replay = create(api_a)
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert replay["Idempotent-Redacted"] == "token"
    body = replay.json()
    assert body["token"] is None
    assert body["token_notice"] == SHOWN_ONCE
    assert body["id"] == first["id"]
    assert ApiToken.objects.filter(name="nightly").count() == 1
