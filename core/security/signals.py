"""Receivers that fill the login log from Django's and django-axes' signals."""

from __future__ import annotations

import time

from axes.signals import user_locked_out
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from core.security.events import login_event_record
from core.security.models import LoginEvent
from core.security.passwords_state import CHANGE_REQUIRED, password_change_due

SIGNED_IN_AT = "security_signed_in_at"
LAST_ACTIVITY = "security_last_activity"


@receiver(user_logged_in, dispatch_uid="security_logged_in")
def _logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        # The absolute session age and the idle time count from here (core.security.middleware).
        now = int(time.time())
        request.session[SIGNED_IN_AT] = now
        request.session[LAST_ACTIVITY] = now
        if password_change_due(user):
            request.session[CHANGE_REQUIRED] = True
    login_event_record(kind=LoginEvent.Kind.SUCCESS, request=request, user=user)


@receiver(user_login_failed, dispatch_uid="security_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = (credentials or {}).get("username", "") or ""
    user = get_user_model().objects.filter(username=username).first() if username else None
    login_event_record(kind=LoginEvent.Kind.FAILURE, request=request, user=user, username=username)


@receiver(user_logged_out, dispatch_uid="security_logged_out")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        login_event_record(kind=LoginEvent.Kind.LOGOUT, request=request, user=user)


@receiver(user_locked_out, dispatch_uid="security_locked_out")
def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    user = get_user_model().objects.filter(username=username).first() if username else None
    login_event_record(
        kind=LoginEvent.Kind.LOCKOUT, request=request, user=user, username=username or ""
    )
