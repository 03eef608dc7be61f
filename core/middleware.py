"""Middleware that keeps failures and hostile input from becoming 500s.

``HostileInputMiddleware`` (early in MIDDLEWARE) refuses, before anything parses them, bodies
over ``MAX_BODY_BYTES`` (413), and URLs, query strings and form fields with invalid UTF-8 or
control characters (400), which PostgreSQL would refuse with an error mid-request (NUL).
JSON bodies are checked by the API's parser (core/api/parsers.py) the same way.

``DatabaseUnavailableMiddleware`` turns a lost database (OperationalError, InterfaceError)
into a 503 with Retry-After: a page for people, the one error shape for the API. Errors
raised outside a view (another middleware) reach ``core.api.errors.json_handler500``, which
answers the same.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from core.api.errors import RETRY_AFTER_SECONDS, error_body
from core.context import study_titles
from core.errors import HTTP_STATUS, ErrorCode
from core.validators import first_control_character

logger = logging.getLogger("registry.errors")

DATABASE_ERRORS = (OperationalError, InterfaceError)
# Bodies whose fields Django parses into request.POST (files are not read as text here).
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def refusal(request: HttpRequest, code: ErrorCode, message: str, field: str = "") -> HttpResponse:
    """The one error shape for the API; a short plain page elsewhere."""
    status = HTTP_STATUS[code]
    text = _("%(field)s: %(message)s") % {"field": field, "message": message} if field else message
    if is_api(request):
        fields = {field: [message]} if field else None
        return JsonResponse(error_body(code, text, fields), status=status)
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def database_unavailable(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        response: HttpResponse = JsonResponse(
            error_body(
                ErrorCode.SERVICE_UNAVAILABLE,
                _("The database is unreachable for now; nothing was changed. Retry later."),
            ),
            status=503,
        )
    else:
        html = render_to_string("503.html", {"retry_after": RETRY_AFTER_SECONDS, **study_titles()})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if isinstance(exception, DATABASE_ERRORS):
            logger.error(
                "database unavailable during %s %s: %s", request.method, request.path, exception
            )
            return database_unavailable(request)
        return None


def _path_text(request: HttpRequest) -> str | None:
    """The URL path as text, or None when its bytes are not UTF-8.

    WSGI hands the path over already unquoted, as latin-1 decoded bytes (PEP 3333).
    """
    try:
        return request.META.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return None


def _query_pairs(request: HttpRequest) -> list[tuple[str, str]] | None:
    """The query string's (name, value) pairs, or None when its bytes are not UTF-8."""
    try:
        return parse_qsl(
            request.META.get("QUERY_STRING", ""), keep_blank_values=True, errors="strict"
        )
    except UnicodeDecodeError:
        return None


def _control_in_fields(pairs) -> tuple[str, str] | None:
    """(field, where) of the first control character in names or values; field '' for a name."""
    for name, value in pairs:
        if where := first_control_character(name):
            return "", where
        if where := first_control_character(value):
            return name, where
    return None


class HostileInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._refuse(request) is None:
            return self.get_response(request)
        # Before LocaleMiddleware: the refusal speaks the language of the cookie or browser.
        # Worked out only for a refusal (the checks run again to word it), not for every request.
        with translation.override(translation.get_language_from_request(request)):
            return self._refuse(request)

    def _refuse(self, request: HttpRequest) -> HttpResponse | None:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return refusal(request, ErrorCode.INVALID, _("Content-Length is not a number."))
        # File uploads (settings.UPLOAD_BODY_LIMITS: path → bytes) may be larger.
        limit = settings.UPLOAD_BODY_LIMITS.get(request.path_info, settings.MAX_BODY_BYTES)
        if length > limit:
            return refusal(
                request,
                ErrorCode.PAYLOAD_TOO_LARGE,
                _("The body is %(size)s bytes; the limit is %(limit)s.")
                % {"size": length, "limit": limit},
            )
        path = _path_text(request)
        if path is None:
            return refusal(request, ErrorCode.INVALID, _("The URL is not valid UTF-8."))
        if where := first_control_character(path):
            return refusal(
                request,
                ErrorCode.INVALID,
                _("Control characters are not allowed in the URL (found %(where)s).")
                % {"where": where},
            )
        pairs = _query_pairs(request)
        if pairs is None:
            return refusal(request, ErrorCode.INVALID, _("The query string is not valid UTF-8."))
        if found := _control_in_fields(pairs):
            return self._control_refusal(request, *found)
        # Pages and the admin post forms; the API takes JSON only (its parser checks it).
        if request.method == "POST" and request.content_type in FORM_TYPES and not is_api(request):
            fields = ((name, v) for name, values in request.POST.lists() for v in values)
            if found := _control_in_fields(fields):
                return self._control_refusal(request, *found)
        return None

    @staticmethod
    def _control_refusal(request: HttpRequest, field: str, where: str) -> HttpResponse:
        message = _("Control characters are not allowed in text (found %(where)s).") % {
            "where": where
        }
        return refusal(request, ErrorCode.INVALID, message, field=field)
