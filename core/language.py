"""The user's language: the header's switcher, the preference saved on the account, and the
middleware that applies it (docs/translation.md).

Before signing in, Django's LocaleMiddleware picks the language from the language cookie or
the browser's Accept-Language. Once signed in, the language saved on the account wins, so a
coordinator who chose Chinese on the ward PC finds Chinese on the ward phone too.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

LANGUAGE_CODES = tuple(code for code, _name in settings.LANGUAGES)


class UserLanguageMiddleware:
    """After authentication: activate the signed-in user's saved language, if any."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = getattr(getattr(request, "user", None), "language", "")
        if chosen in LANGUAGE_CODES:
            translation.activate(chosen)
            request.LANGUAGE_CODE = chosen
        return self.get_response(request)


def user_language_set(user, language: str) -> None:
    """Save a user's language ("" follows the browser); refuses a language the registry lacks."""
    if language and language not in LANGUAGE_CODES:
        raise ValidationError(
            {"language": _("Language: choose one of the registry's languages.")}
        )
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])


@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """The header's switcher: remember the choice on the account (signed in) and in the cookie."""
    language = request.POST.get("language", "")
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("login") if not request.user.is_authenticated else "/"
    response = HttpResponseRedirect(next_url)
    if language not in LANGUAGE_CODES:
        # Only a hand-made request sends another value: say so, change nothing.
        messages.error(request, _("Language: choose one of the registry's languages."))
        return response
    if request.user.is_authenticated:
        user_language_set(request.user, language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response
