"""Pages of the account: the second factor (enrol or verify), the password change, and the
answer to a locked-out sign-in."""

from __future__ import annotations

import base64

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from core.api.errors import error_body
from core.errors import ErrorCode
from core.security.events import login_event_record
from core.security.models import LoginEvent
from core.security.passwords_state import CHANGE_REQUIRED, password_changed

BACKUP_CODE_COUNT = 10
_ENROLMENT_NAME = "authenticator"


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return str(reverse_lazy(settings.LOGIN_REDIRECT_URL))


def _pending_totp(user) -> TOTPDevice:
    """The unconfirmed device being enrolled (one per user: a reload shows the same code)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name=_ENROLMENT_NAME, confirmed=False)


def _backup_codes(user) -> list[str]:
    """Replaces the user's backup codes with new ones, each usable once."""
    device, _created = StaticDevice.objects.get_or_create(user=user, name="backup codes")
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _n in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def _qr_data_uri(device: TOTPDevice) -> str:
    # Rendered on the server as an SVG data URI: no script, no third-party service sees the key.
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)


@login_required
@require_http_methods(["GET", "POST"])
def two_factor(request: HttpRequest) -> HttpResponse:
    """Verify a code from the authenticator (or a backup code); enrol one at first sign-in."""
    user = request.user
    enrolled = user_has_device(user, confirmed=True)
    error = ""
    if request.method == "POST":
        token = "".join(request.POST.get("token", "").split())
        device = None
        if not token:
            error = _("token: enter the 6-digit code from your authenticator app.")
        elif enrolled:
            device = match_token(user, token)
        else:
            pending = _pending_totp(user)
            device = pending if pending.verify_token(token) else None
        if device is not None:
            with transaction.atomic():
                backup_codes = None
                if not enrolled:
                    device.confirmed = True
                    device.save(update_fields=["confirmed"])
                    backup_codes = _backup_codes(user)
                    login_event_record(
                        kind=LoginEvent.Kind.OTP_ENROLLED, request=request, user=user
                    )
                otp_login(request, device)
                login_event_record(
                    kind=LoginEvent.Kind.OTP_VERIFIED,
                    request=request,
                    user=user,
                    detail=type(device).__name__,
                )
            if backup_codes:
                return render(
                    request,
                    "security/backup_codes.html",
                    {"codes": backup_codes, "next": _next_url(request)},
                )
            return redirect(_next_url(request))
        if token:
            login_event_record(kind=LoginEvent.Kind.OTP_FAILED, request=request, user=user)
            error = _("token: the code is wrong or expired; try the current one.")
    context = {"enrolled": enrolled, "error": error, "next": _next_url(request)}
    if not enrolled:
        device = _pending_totp(user)
        context["qr"] = _qr_data_uri(device)
        context["secret"] = _base32(device)
    return render(request, "security/two_factor.html", context, status=400 if error else 200)


def _base32(device: TOTPDevice) -> str:
    key = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(key[i : i + 4] for i in range(0, len(key), 4))


class PasswordChangeView(auth_views.PasswordChangeView):
    """Every user changes their own password; other sessions of the user end (Django signs
    them out by the password hash in the session), this one stays signed in."""

    template_name = "security/password_change.html"
    success_url = reverse_lazy("password-change")

    def form_valid(self, form):
        response = super().form_valid(form)
        update_session_auth_hash(self.request, form.user)
        password_changed(user=form.user)
        self.request.session.pop(CHANGE_REQUIRED, None)
        login_event_record(
            kind=LoginEvent.Kind.PASSWORD_CHANGED, request=self.request, user=form.user
        )
        messages.success(self.request, _("Your password was changed."))
        return response


def locked_out(request, credentials=None, *args, **kwargs) -> HttpResponse:
    """The answer of django-axes to a locked-out sign-in (login page, admin, API)."""
    message = _(
        "Too many failed sign-ins: this account or address is locked. Try again later or ask "
        "an administrator to unlock it."
    )
    if request.path.startswith("/api/"):
        return JsonResponse(
            error_body(ErrorCode.THROTTLED, message), status=settings.AXES_HTTP_RESPONSE_CODE
        )
    return render(
        request,
        "security/locked_out.html",
        {"message": message},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
