"""Writes of the API's own data: personal tokens. (Study data is written by registry.services.)"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.api.authentication import forget_tokens
from core.api.models import TOKEN_PREFIX, ApiToken, hash_secret
from core.errors import ApplicationError, ErrorCode, field_error


def token_create(
    *, user: AbstractBaseUser, name: str, days: int | None = None
) -> tuple[ApiToken, str]:
    """A new token for ``user``; returns it and its secret, which is never stored or shown again."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError(_("name: give the token a name."), fields={"name": [_("Required.")]})
    if len(name) > 100:
        raise ApplicationError(
            _("name: at most 100 characters."), fields={"name": [_("At most 100 characters.")]}
        )
    days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
    if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
        message = _("Between 1 and %(max)s days.") % {"max": settings.API_TOKEN_MAX_DAYS}
        raise field_error("days", message)
    if not user.is_active:
        raise ApplicationError(_("The account is disabled."), code=ErrorCode.FORBIDDEN)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            key_hash=hash_secret(secret),
            prefix=secret[: len(TOKEN_PREFIX) + 6],
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    return token, secret


def token_revoke(*, user: AbstractBaseUser, token_id: int) -> ApiToken:
    """Revoke one of ``user``'s own tokens (revoking twice is harmless)."""
    token = ApiToken.objects.filter(pk=token_id, user=user).first()
    if token is None:
        raise ApplicationError(_("No such token."), code=ErrorCode.NOT_FOUND)
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
        # The cached owner of the token goes too: refused from the next request on.
        forget_tokens([token.key_hash])
        token.refresh_from_db()
    return token
