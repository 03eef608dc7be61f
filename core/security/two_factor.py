"""The second factor where there is no session to carry it (the API token endpoint), and its
reset by an administrator."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _
from django_otp import devices_for_user, match_token, user_has_device

from core.errors import ApplicationError, ErrorCode
from core.permissions import can_manage_accounts
from core.security.events import login_event_record
from core.security.middleware import two_factor_exempt
from core.security.models import LoginEvent


def second_factor_check(request, user, token: str) -> None:
    """Raises unless the user is exempt or ``token`` is a valid code of one of their devices."""
    if two_factor_exempt(user):
        return
    if not user_has_device(user, confirmed=True):
        raise ApplicationError(
            _("otp: set up two-factor sign-in on the web pages first."),
            code=ErrorCode.AUTHENTICATION_FAILED,
            fields={"otp": [_("Set up two-factor sign-in on the web pages first.")]},
        )
    token = "".join((token or "").split())
    if not token or match_token(user, token) is None:
        if token:
            login_event_record(kind=LoginEvent.Kind.OTP_FAILED, request=request, user=user)
        raise ApplicationError(
            _("otp: the code from your authenticator is missing, wrong or expired."),
            code=ErrorCode.AUTHENTICATION_FAILED,
            fields={"otp": [_("Enter the current code from your authenticator.")]},
        )
    login_event_record(
        kind=LoginEvent.Kind.OTP_VERIFIED, request=request, user=user, detail="API token"
    )


def two_factor_reset(*, administrator, user, request=None) -> int:
    """Remove every authenticator and backup code of ``user`` (a lost phone): their next
    sign-in enrols anew. A session verified with a removed device is no longer verified.
    Logged in the login log with the administrator who did it. Returns the devices removed."""
    if not can_manage_accounts(administrator):
        raise ApplicationError(
            _("Only an administrator may reset two-factor sign-in."), code=ErrorCode.FORBIDDEN
        )
    with transaction.atomic():
        devices = list(devices_for_user(user, confirmed=None))
        for device in devices:
            device.delete()
        login_event_record(
            kind=LoginEvent.Kind.OTP_RESET,
            request=request,
            user=user,
            # Stored in the sign-in log, which stays English whatever the administrator reads.
            detail=f"by {administrator.get_username()}, {len(devices)} device(s) removed",
        )
    return len(devices)
