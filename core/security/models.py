"""The login log: every sign-in, failure, lockout and second-factor event, for administrators."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LoginEvent(models.Model):
    class Kind(models.TextChoices):
        SUCCESS = "success", _("Signed in (password)")
        FAILURE = "failure", _("Wrong username or password")
        LOCKOUT = "lockout", _("Locked out")
        LOGOUT = "logout", _("Signed out")
        IDLE_LOGOUT = "idle_logout", _("Signed out: idle or session too old")
        OTP_VERIFIED = "otp_verified", _("Second factor verified")
        OTP_FAILED = "otp_failed", _("Second factor refused")
        OTP_ENROLLED = "otp_enrolled", _("Authenticator enrolled")
        OTP_RESET = "otp_reset", _("Second factor reset by an administrator")
        PASSWORD_CHANGED = "password_changed", _("Password changed")

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The name typed at the login form (also for unknown users), and the account if one matched.
    username = models.CharField(max_length=150, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="login_events",
    )
    client = models.CharField(max_length=64, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["username", "-at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.username}"


class PasswordState(models.Model):
    """Whether the user must choose a new password, and when they last did.

    An account created or reset by an administrator must set its own password at its next
    sign-in; with ``PASSWORD_MAX_AGE_DAYS`` a password older than that must be changed too.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="password_state"
    )
    must_change = models.BooleanField(default=False)
    changed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.user}: {'must change' if self.must_change else 'ok'}"
