"""Writing the login log (one function, so every entry carries the same request facts)."""

from __future__ import annotations

from core.security.client import client_address
from core.security.models import LoginEvent


def login_event_record(*, kind: str, request=None, user=None, username: str = "", detail: str = ""):
    if user is not None and not username:
        username = user.get_username()
    meta = getattr(request, "META", {}) if request is not None else {}
    return LoginEvent.objects.create(
        kind=kind,
        user=user if user is not None and user.pk else None,
        username=username[:150],
        client=(client_address(request) or "")[:64] if request is not None else "",
        user_agent=meta.get("HTTP_USER_AGENT", "")[:255],
        detail=detail[:255],
    )
