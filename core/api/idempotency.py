"""``Idempotency-Key`` on POST: a retried request gets the first answer, not a second effect.

The key is remembered per user with a fingerprint of the request (method, path,
body). The first request inserts the key inside a transaction; a concurrent
retry waits on the unique index and then replays the stored answer. Only
successful (2xx) answers are remembered: after a refusal (4xx) the key is free
again, so a corrected request may reuse it; a 5xx rolls everything back.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.response import Response

from core.api.models import IdempotencyRecord
from core.errors import ApplicationError, ErrorCode

HEADER = "Idempotency-Key"
REDACTED_HEADER = "Idempotent-Redacted"
SHOWN_ONCE = (
    "This secret was shown once, in the first answer to this request, and is not stored; "
    "if it was lost, revoke this token and create a new one."
)
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"
_KEPT_HEADERS = ("Location", "ETag")


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode())
    digest.update(b"\0")
    digest.update(request.get_full_path().encode())
    digest.update(b"\0")
    digest.update(request.body)
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> Response:
    headers = {**record.response_headers, REPLAYED_HEADER: "true"}
    return Response(record.response_body, status=record.status_code, headers=headers)


def _redacted(body, secret_fields: tuple[str, ...]):
    """The answer as it may be stored: each secret replaced by null, with a notice."""
    if not secret_fields or not isinstance(body, dict):
        return body
    stored = dict(body)
    for name in secret_fields:
        if name in stored:
            stored[name] = None
            stored[f"{name}_notice"] = SHOWN_ONCE
    return stored


def idempotent(method=None, *, secret_fields: tuple[str, ...] = ()):
    """Decorate an APIView's ``post``: ``@idempotent``, or ``@idempotent(secret_fields=("token",))``
    for an answer that carries a secret, which is then never written to the store."""
    if method is None:
        return lambda inner: _idempotent(inner, secret_fields)
    return _idempotent(method, secret_fields)


def _idempotent(method, secret_fields: tuple[str, ...]):
    @wraps(method)
    def wrapper(self, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None or not request.user.is_authenticated:
            return method(self, request, *args, **kwargs)
        key = key.strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isascii():
            raise ApplicationError(
                f"{HEADER}: 1–{MAX_KEY_LENGTH} ASCII characters.",
                code=ErrorCode.INVALID,
                fields={HEADER: [f"1–{MAX_KEY_LENGTH} ASCII characters."]},
            )
        fingerprint = _fingerprint(request)
        cutoff = timezone.now() - timedelta(hours=settings.API_IDEMPOTENCY_HOURS)
        IdempotencyRecord.objects.filter(user=request.user, key=key, created_at__lt=cutoff).delete()
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyRecord.objects.create(
                        user=request.user, key=key, fingerprint=fingerprint
                    )
            except IntegrityError:
                # The first request committed (we waited for it on the unique index) or runs.
                existing = IdempotencyRecord.objects.filter(user=request.user, key=key).first()
                return _answer_for_existing(existing, fingerprint)
            try:
                response = method(self, request, *args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - turned into the API's error answer
                response = self.handle_exception(exc)
            if response.status_code >= 500:
                return response  # the handler marked the transaction for rollback
            if 200 <= response.status_code < 300:
                record.status_code = response.status_code
                record.response_body = _redacted(response.data, secret_fields)
                record.response_headers = {
                    h: response[h] for h in _KEPT_HEADERS if response.has_header(h)
                }
                if secret_fields:
                    record.response_headers[REDACTED_HEADER] = ", ".join(secret_fields)
                record.save(update_fields=["status_code", "response_body", "response_headers"])
            else:
                # A refusal is not remembered; what the service committed (e.g. the audit of a
                # refused signature) stays, because only a 5xx marks the transaction for rollback.
                record.delete()
            return response

    return wrapper


def _answer_for_existing(existing, fingerprint):
    if existing is not None and existing.fingerprint != fingerprint:
        raise ApplicationError(
            _("This %(header)s was already used for a different request; use a new key.")
            % {"header": HEADER},
            code=ErrorCode.IDEMPOTENCY_KEY_REUSED,
        )
    if existing is None or existing.status_code is None:
        # Still running elsewhere, or refused and freed just now: the client retries.
        raise ApplicationError(
            _("A request with this %(header)s is still being processed; retry shortly.")
            % {"header": HEADER},
            code=ErrorCode.IDEMPOTENCY_KEY_IN_USE,
        )
    return _replay(existing)
