"""``Authorization: Bearer <token>`` with personal API tokens (hashed at rest).

A token's owner (the user with their centre) is read from the database and then kept in the
shared cache for ``TOKEN_CACHE_SECONDS``, so that most requests resolve their token without
a query. Revoking a token, and saving or deleting a token, a user or a centre, replaces the
cached entries concerned with a marker at once (``forget_tokens``; core/api/signals.py): the
next request reads the database, so a revocation, a deactivated account, a new role or centre
count from the next request on in every process. The marker outlives any entry written from a
read made before the change, which therefore cannot come back. Expiry is checked on every
request against the cached expiry. The lifetime bounds what a change no signal reports (a
bulk ``QuerySet.update`` of users, raw SQL) can take: it counts within that many seconds.
The cached entry carries no password hash (reading it, e.g. to sign, queries the database).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from core.api.models import ApiToken, hash_secret

logger = logging.getLogger("registry.api")

# Writing last_used_at on every request would add a write per read; once a minute is enough
# to tell a user which tokens are in use.
LAST_USED_RESOLUTION = timedelta(minutes=1)
TOKEN_CACHE_SECONDS = 30
# A token read from the database has its last use written if older than this, so that the
# copy cached from it stays within LAST_USED_RESOLUTION for its whole life (with a margin):
# requests answered from the cache then have nothing to write.
_LAST_USED_BEFORE_CACHING = LAST_USED_RESOLUTION - timedelta(seconds=TOKEN_CACHE_SECONDS + 5)
# Stands in the cache for an entry that changed: read the database, and cache nothing,
# until it expires (longer than an entry lives).
_CHANGED = "changed"
_CHANGED_SECONDS = TOKEN_CACHE_SECONDS + 30
_NOT_CACHED = ("password",)


def _cache_key(key_hash: str) -> str:
    return f"api-token:1:{key_hash}"


def _values(instance) -> dict:
    return {
        f.attname: getattr(instance, f.attname)
        for f in instance._meta.concrete_fields
        if f.attname not in _NOT_CACHED
    }


def _from_values(model, values: dict, db: str):
    # By name: an entry written before a field was added leaves that field to be loaded
    # from the database if read (deferred), never shifts values into the wrong fields.
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(db, names, [values[name] for name in names])


def _cache_entry(token: ApiToken) -> dict:
    center = token.user.center
    return {
        "db": token._state.db,
        "token": _values(token),
        "user": _values(token.user),
        "center": _values(center) if center is not None else None,
    }


def _token_from_entry(entry: dict) -> ApiToken:
    db = entry["db"]
    token = _from_values(ApiToken, entry["token"], db)
    user_model = ApiToken._meta.get_field("user").related_model
    user = _from_values(user_model, entry["user"], db)
    if entry["center"] is not None:
        center_model = user_model._meta.get_field("center").related_model
        user.center = _from_values(center_model, entry["center"], db)
    token.user = user
    return token


def forget_tokens(key_hashes) -> None:
    """Drop these tokens' cached owners now and once the current transaction commits."""
    keys = [_cache_key(key_hash) for key_hash in key_hashes]
    if not keys:
        return

    def mark() -> None:
        try:
            cache.set_many(dict.fromkeys(keys, _CHANGED), _CHANGED_SECONDS)
        except Exception:  # noqa: BLE001 - a change of a user must not fail for the cache
            # Unreachable cache: no process can read an entry from it either, and any entry
            # it still holds when it is back dies within TOKEN_CACHE_SECONDS of its writing.
            logger.warning("could not drop cached API token owners", exc_info=True)

    mark()
    # Again after the commit: a request that read the old row before it cannot cache it
    # (the marker is there), and one that reads after the commit sees the new row.
    transaction.on_commit(mark)


def _token_from_database(key_hash: str) -> ApiToken | None:
    return ApiToken.objects.select_related("user", "user__center").filter(key_hash=key_hash).first()


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: session authentication may still apply
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Malformed Authorization header: use 'Bearer <token>'.")
            )
        try:
            secret = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("The token is not valid.")) from None
        key_hash = hash_secret(secret)
        cached = cache.get(_cache_key(key_hash))
        from_cache = isinstance(cached, dict)
        token = _token_from_entry(cached) if from_cache else _token_from_database(key_hash)
        if token is None:
            raise exceptions.AuthenticationFailed(_("The token is not valid."))
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("The token was revoked."))
        now = timezone.now()
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("The token has expired; create a new one."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("The account is disabled."))
        resolution = LAST_USED_RESOLUTION if from_cache else _LAST_USED_BEFORE_CACHING
        if token.last_used_at is None or now - token.last_used_at > resolution:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        if cached is None:
            # Only a read the cache had nothing for (not one after a change) is cached, and
            # only if nothing was written meanwhile (add, not set).
            cache.add(_cache_key(key_hash), _cache_entry(token), TOKEN_CACHE_SECONDS)
        return token.user, token

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return f'{self.keyword} realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "core.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token: /profile/tokens/ or POST /api/v1/auth/token/.",
        }
