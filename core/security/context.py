"""Template context: the idle limit, for the warning a minute before the idle logout."""

from django.conf import settings


def session_timeout(request) -> dict:
    return {"session_idle_seconds": settings.SESSION_IDLE_MINUTES * 60}
