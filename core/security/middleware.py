"""Idle logout, the absolute session age, and the second factor required before any page."""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from core.api.errors import error_body
from core.errors import ErrorCode
from core.security.events import login_event_record
from core.security.models import LoginEvent
from core.security.passwords_state import CHANGE_REQUIRED
from core.security.signals import LAST_ACTIVITY, SIGNED_IN_AT

# Touch the session at most once a minute: the idle limit is counted in minutes.
_ACTIVITY_RESOLUTION = 60


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


class IdleLogoutMiddleware:
    """Signs a session out after SESSION_IDLE_MINUTES without a page request, or
    SESSION_MAX_HOURS after sign-in, whichever comes first.

    API calls do not count as activity: a page left open that polls the API must not keep
    an unattended session alive.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            session = request.session
            last = session.get(LAST_ACTIVITY)
            signed_in = session.get(SIGNED_IN_AT)
            idle = last is not None and now - last > settings.SESSION_IDLE_MINUTES * 60
            too_old = signed_in is not None and now - signed_in > settings.SESSION_MAX_HOURS * 3600
            if idle or too_old:
                login_event_record(
                    kind=LoginEvent.Kind.IDLE_LOGOUT,
                    request=request,
                    user=user,
                    detail="idle" if idle else "maximum session age",
                )
                logout(request)
                if not _is_api(request):
                    messages.info(
                        request, _("You were signed out after a period without activity.")
                    )
            elif not _is_api(request) and (last is None or now - last >= _ACTIVITY_RESOLUTION):
                session[LAST_ACTIVITY] = now
        return self.get_response(request)


# Reachable before the second factor: signing in and out, the enrolment/verification page
# itself, static files and the health check.
_OPEN_PREFIXES = ("/login/", "/logout/", "/account/two-factor/", "/static/", "/healthz")


def _bearer_api_call(request) -> bool:
    """An API call with a bearer token: no session is involved, the token authenticates."""
    return _is_api(request) and request.headers.get("Authorization", "").startswith("Bearer ")


def _api_refusal(message: str) -> JsonResponse:
    return JsonResponse(error_body(ErrorCode.FORBIDDEN, message), status=403)


def two_factor_exempt(user) -> bool:
    return not settings.REQUIRE_2FA or user.role in settings.TWO_FACTOR_EXEMPT_ROLES


class TwoFactorRequiredMiddleware:
    """With REQUIRE_2FA, a session signed in with a password alone reaches nothing but the
    two-factor page; bearer tokens of the API are not sessions and are not affected."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not two_factor_exempt(user)
            and not user.is_verified()
            and not request.path.startswith(_OPEN_PREFIXES)
        ):
            if _bearer_api_call(request):
                return self.get_response(request)
            if _is_api(request):
                return _api_refusal(_("Verify your second factor at /account/two-factor/ first."))
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('two-factor')}?{query}")
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """A user whose password was set by an administrator (or is older than
    PASSWORD_MAX_AGE_DAYS) reaches only the password page until they choose their own.
    Read from the session, written at sign-in: no query per request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if (
            session is not None
            and session.get(CHANGE_REQUIRED)
            and request.user.is_authenticated
            and not request.path.startswith((*_OPEN_PREFIXES, "/account/password/"))
        ):
            if _bearer_api_call(request):
                return self.get_response(request)
            if _is_api(request):
                return _api_refusal(_("Choose a new password at /account/password/ first."))
            messages.info(request, _("Choose your own password to continue."))
            return redirect("password-change")
        return self.get_response(request)
