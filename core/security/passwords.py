"""Password rules on top of Django's validators (settings.AUTH_PASSWORD_VALIDATORS)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


class UsernameInPasswordValidator:
    """Refuses a password that contains the username (``probeuser1`` for ``probeuser``).

    Django's similarity validator compares whole strings by ratio and lets a username plus a
    digit or two through once the password is long; containment is the simpler, stricter rule.
    """

    def validate(self, password: str, user=None) -> None:
        username = (getattr(user, "username", "") or "").lower()
        if len(username) >= 3 and username in password.lower():
            raise ValidationError(
                _("The password must not contain the username."),
                code="password_contains_username",
            )

    def get_help_text(self) -> str:
        return _("Your password must not contain your username.")
