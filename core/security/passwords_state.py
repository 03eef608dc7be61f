"""Who must change their password: set by an administrator's create or reset, cleared when the
user chooses one; read once per sign-in into the session (no query per request)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.security.models import PasswordState

CHANGE_REQUIRED = "security_password_change_required"


def password_change_require(*, user) -> None:
    PasswordState.objects.update_or_create(user=user, defaults={"must_change": True})


def password_changed(*, user) -> None:
    PasswordState.objects.update_or_create(
        user=user, defaults={"must_change": False, "changed_at": timezone.now()}
    )


def password_change_due(user) -> bool:
    state = PasswordState.objects.filter(user=user).first()
    if state is None:
        return False
    if state.must_change:
        return True
    max_age = settings.PASSWORD_MAX_AGE_DAYS
    return bool(
        max_age
        and state.changed_at is not None
        and timezone.now() - state.changed_at > timedelta(days=max_age)
    )
