"""One error shape for every API error: ``{"error": {"code", "message", "fields"}}``.

``exception_handler`` is DRF's EXCEPTION_HANDLER: it maps service errors
(``ApplicationError``), DRF's own exceptions and anything unexpected to that
shape, so a client parses one structure and never sees a stack trace.
``json_handler404``/``json_handler500`` give the same shape for /api/ paths that
never reach a DRF view (unknown URL, a crash in middleware).
"""

from __future__ import annotations

import logging
import sys
import uuid

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from core.errors import HTTP_STATUS, ApplicationError, ErrorCode

logger = logging.getLogger("registry.api")

# Seconds a client is asked to wait before retrying while the database is away.
RETRY_AFTER_SECONDS = 30

_DRF_CODES = {
    exceptions.ParseError: ErrorCode.PARSE_ERROR,
    exceptions.NotAuthenticated: ErrorCode.NOT_AUTHENTICATED,
    exceptions.AuthenticationFailed: ErrorCode.AUTHENTICATION_FAILED,
    exceptions.PermissionDenied: ErrorCode.FORBIDDEN,
    exceptions.NotFound: ErrorCode.NOT_FOUND,
    exceptions.MethodNotAllowed: ErrorCode.METHOD_NOT_ALLOWED,
    exceptions.NotAcceptable: ErrorCode.NOT_ACCEPTABLE,
    exceptions.UnsupportedMediaType: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
    exceptions.Throttled: ErrorCode.THROTTLED,
}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(code: ErrorCode, message: str, fields=None, headers=None) -> Response:
    return Response(error_body(code, message, fields), status=HTTP_STATUS[code], headers=headers)


def _json_error(code: ErrorCode, message: str) -> JsonResponse:
    """The same shape outside DRF (URL resolver and middleware failures)."""
    return JsonResponse(error_body(code, message), status=HTTP_STATUS[code])


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail → {"field" or "field.0.sub": [messages]}."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        # A dict nested in a dict (a list field's errors by index) joins with a dot too.
        join = prefix if not prefix or prefix.endswith(".") else f"{prefix}."
        for name, value in detail.items():
            key = "__all__" if name == "non_field_errors" else str(name)
            for sub, msgs in _flatten(value, f"{join}{key}").items():
                out.setdefault(sub, []).extend(msgs)
    elif isinstance(detail, list):
        if all(not isinstance(item, dict | list) for item in detail):
            out[prefix or "__all__"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(_flatten(item, f"{prefix}.{index}." if prefix else f"{index}."))
    else:
        out[prefix.rstrip(".") or "__all__"] = [str(detail)]
    return {k.rstrip("."): v for k, v in out.items()}


def _first_message(fields: dict[str, list[str]]) -> str:
    name, messages = next(iter(fields.items()))
    return messages[0] if name == "__all__" else f"{name}: {messages[0]}"


def exception_handler(exc: Exception, context: dict) -> Response:
    headers: dict[str, str] = {}
    if isinstance(exc, ApplicationError):
        # Includes the models' refusal of a locked casebook (a second wall behind the services).
        return error_response(exc.code, exc.message, exc.fields)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail) or {"__all__": [_("Invalid input.")]}
        return error_response(ErrorCode.INVALID, _first_message(fields), fields)
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        code = next((c for t, c in _DRF_CODES.items() if isinstance(exc, t)), None)
        if code is None:
            code = ErrorCode.FORBIDDEN if exc.status_code == 403 else ErrorCode.INVALID
        message = str(exc.detail) if not isinstance(exc.detail, dict | list) else code
        return Response(error_body(code, message), status=exc.status_code, headers=headers)
    if isinstance(exc, IntegrityError):
        # A race the services' checks could not see (two identical writes at once).
        logger.warning("integrity error in API request: %s", exc)
        set_rollback()
        return error_response(
            ErrorCode.CONFLICT, _("The data changed meanwhile; reload and try again.")
        )
    if isinstance(exc, OperationalError | InterfaceError):
        # The database went away (restart, failover, network): the client should retry.
        logger.error("database unavailable in API request: %s", exc)
        set_rollback()
        return error_response(
            ErrorCode.SERVICE_UNAVAILABLE,
            _("The database is unreachable for now; nothing was changed. Retry later."),
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    reference = uuid.uuid4().hex[:12]
    logger.exception("unhandled error in API request (reference %s)", reference, exc_info=exc)
    set_rollback()
    return error_response(
        ErrorCode.SERVER_ERROR,
        _("An unexpected error occurred; it was logged with reference %(reference)s.")
        % {"reference": reference},
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def json_handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json_error(ErrorCode.NOT_FOUND, _("No such resource."))
    return defaults.page_not_found(request, exception)


def json_handler500(request: HttpRequest) -> HttpResponse:
    # Called while the exception is being handled: a lost database raised outside a view
    # (in a middleware, e.g. loading the session) still answers 503, not 500.
    if isinstance(sys.exc_info()[1], OperationalError | InterfaceError):
        from core.middleware import database_unavailable

        return database_unavailable(request)
    if _is_api(request):
        return _json_error(
            ErrorCode.SERVER_ERROR, _("An unexpected error occurred; it was logged.")
        )
    return defaults.server_error(request)


def json_handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json_error(ErrorCode.FORBIDDEN, _("Forbidden."))
    return defaults.permission_denied(request, exception)


def json_handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return _json_error(ErrorCode.INVALID, _("Bad request."))
    return defaults.bad_request(request, exception)
