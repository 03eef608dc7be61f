"""One error shape for every API error: ``{"error": {"code", "message", "fields"}}``.

``exception_handler`` is DRF's EXCEPTION_HANDLER: it maps service errors
(``ApplicationError``), DRF's own exceptions and anything unexpected to that
shape, so a client parses one structure and never sees a stack trace.
``json_handler404``/``json_handler500`` give the same shape for /api/ paths that
never reach a DRF view (unknown URL, a crash in middleware).
"""

from __future__ import annotations

import logging
import uuid

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from registry.models import LockedCasebookError
from registry.services import ApplicationError

logger = logging.getLogger("registry.api")

# Every code a client can meet, with its meaning (also the enum in the OpenAPI schema).
ERROR_CODES: dict[str, str] = {
    "invalid": "The request was understood but its data break a rule; see fields (400).",
    "parse_error": "The body is not valid JSON (400).",
    "not_authenticated": "No credentials: send 'Authorization: Bearer <token>' (401).",
    "authentication_failed": "The token or password is wrong, expired or revoked (401).",
    "forbidden": "Your role may not do this, or not at this centre (403).",
    "not_found": "No such resource, or not visible to you (404).",
    "method_not_allowed": "This URL does not accept this HTTP method (405).",
    "not_acceptable": "The API answers in application/json only (406).",
    "locked": "The casebook is locked and read-only (409).",
    "conflict": "The resource exists already or changed meanwhile (409).",
    "idempotency_key_in_use": "A request with this Idempotency-Key is still running (409).",
    "stale": "The version you sent is not the current one; reload and retry (412).",
    "expired": "The export's download link has expired; run the export again (410).",
    "no_plan": "There is no analysis plan yet: a PI must save one first (409).",
    "unsupported_media_type": "Send the body as application/json (415).",
    "idempotency_key_reused": "This Idempotency-Key was used for a different request (422).",
    "throttled": "Too many requests; wait for the Retry-After seconds (429).",
    "server_error": "An unexpected error; it was logged with the reference given (500).",
}

APPLICATION_STATUS = {
    ApplicationError.INVALID: status.HTTP_400_BAD_REQUEST,
    ApplicationError.FORBIDDEN: status.HTTP_403_FORBIDDEN,
    ApplicationError.NOT_FOUND: status.HTTP_404_NOT_FOUND,
    ApplicationError.LOCKED: status.HTTP_409_CONFLICT,
    ApplicationError.STALE: status.HTTP_412_PRECONDITION_FAILED,
}

_DRF_CODES = {
    exceptions.ParseError: "parse_error",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


class ApiError(exceptions.APIException):
    """An API-level refusal that is not a service error (conflict, idempotency…)."""

    def __init__(self, message: str, *, code: str, status_code: int, fields=None) -> None:
        super().__init__(message)
        self.message = message
        self.error_code = code
        self.status_code = status_code
        self.fields = fields or {}


def error_body(code: str, message: str, fields: dict[str, list[str]] | None = None) -> dict:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


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
        code = exc.code if exc.code in APPLICATION_STATUS else ApplicationError.INVALID
        return Response(error_body(code, exc.message, exc.fields), status=APPLICATION_STATUS[code])
    if isinstance(exc, ApiError):
        return Response(error_body(exc.error_code, exc.message, exc.fields), exc.status_code)
    if isinstance(exc, LockedCasebookError):
        # A second wall: services refuse first, the models refuse anyway.
        return Response(error_body("locked", str(exc)), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten(exc.detail) or {"__all__": ["Invalid input."]}
        return Response(error_body("invalid", _first_message(fields), fields), status=400)
    if isinstance(exc, exceptions.APIException):
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))
        code = next((c for t, c in _DRF_CODES.items() if isinstance(exc, t)), None)
        if code is None:
            code = "forbidden" if exc.status_code == 403 else "invalid"
        message = str(exc.detail) if not isinstance(exc.detail, dict | list) else code
        return Response(error_body(code, message), status=exc.status_code, headers=headers)
    if isinstance(exc, IntegrityError):
        # A race the services' checks could not see (two identical writes at once).
        logger.warning("integrity error in API request: %s", exc)
        set_rollback()
        return Response(
            error_body("conflict", "The data changed meanwhile; reload and try again."),
            status=status.HTTP_409_CONFLICT,
        )
    reference = uuid.uuid4().hex[:12]
    logger.exception("unhandled error in API request (reference %s)", reference, exc_info=exc)
    set_rollback()
    return Response(
        error_body(
            "server_error",
            f"An unexpected error occurred; it was logged with reference {reference}.",
        ),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def json_handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", "No such resource."), status=404)
    return defaults.page_not_found(request, exception)


def json_handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            error_body("server_error", "An unexpected error occurred; it was logged."), status=500
        )
    return defaults.server_error(request)


def json_handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("forbidden", "Forbidden."), status=403)
    return defaults.permission_denied(request, exception)


def json_handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("invalid", "Bad request."), status=400)
    return defaults.bad_request(request, exception)
