"""The one error vocabulary: ``ApplicationError`` with a code from ``ErrorCode``.

Services, API views and page views raise ``ApplicationError``. Each code is mapped
once, here, to its HTTP status (the API's answer, and the status of a page that
refuses) and described once (the API's documented error codes).
"""

from __future__ import annotations

from enum import StrEnum
from http import HTTPStatus

from django.utils.translation import gettext as _


class ErrorCode(StrEnum):
    INVALID = "invalid"
    PARSE_ERROR = "parse_error"
    NOT_AUTHENTICATED = "not_authenticated"
    AUTHENTICATION_FAILED = "authentication_failed"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_ACCEPTABLE = "not_acceptable"
    LOCKED = "locked"
    CONFLICT = "conflict"
    IDEMPOTENCY_KEY_IN_USE = "idempotency_key_in_use"
    STALE = "stale"
    EXPIRED = "expired"
    NO_PLAN = "no_plan"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    THROTTLED = "throttled"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    SERVER_ERROR = "server_error"
    SERVICE_UNAVAILABLE = "service_unavailable"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID: HTTPStatus.BAD_REQUEST,
    ErrorCode.PARSE_ERROR: HTTPStatus.BAD_REQUEST,
    ErrorCode.NOT_AUTHENTICATED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.AUTHENTICATION_FAILED: HTTPStatus.UNAUTHORIZED,
    ErrorCode.FORBIDDEN: HTTPStatus.FORBIDDEN,
    ErrorCode.NOT_FOUND: HTTPStatus.NOT_FOUND,
    ErrorCode.METHOD_NOT_ALLOWED: HTTPStatus.METHOD_NOT_ALLOWED,
    ErrorCode.NOT_ACCEPTABLE: HTTPStatus.NOT_ACCEPTABLE,
    ErrorCode.LOCKED: HTTPStatus.CONFLICT,
    ErrorCode.CONFLICT: HTTPStatus.CONFLICT,
    ErrorCode.IDEMPOTENCY_KEY_IN_USE: HTTPStatus.CONFLICT,
    ErrorCode.STALE: HTTPStatus.PRECONDITION_FAILED,
    ErrorCode.EXPIRED: HTTPStatus.GONE,
    ErrorCode.NO_PLAN: HTTPStatus.CONFLICT,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
    ErrorCode.IDEMPOTENCY_KEY_REUSED: HTTPStatus.UNPROCESSABLE_ENTITY,
    ErrorCode.THROTTLED: HTTPStatus.TOO_MANY_REQUESTS,
    ErrorCode.PAYLOAD_TOO_LARGE: HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
    ErrorCode.SERVER_ERROR: HTTPStatus.INTERNAL_SERVER_ERROR,
    ErrorCode.SERVICE_UNAVAILABLE: HTTPStatus.SERVICE_UNAVAILABLE,
}

# What each code means to a client; the API's OpenAPI schema lists these. Reference text for
# client developers, like the codes and field names themselves: English, not translated.
DESCRIPTIONS: dict[ErrorCode, str] = {
    ErrorCode.INVALID: "The request was understood but its data break a rule; see fields.",
    ErrorCode.PARSE_ERROR: "The body is not valid JSON.",
    ErrorCode.NOT_AUTHENTICATED: "No credentials: send 'Authorization: Bearer <token>'.",
    ErrorCode.AUTHENTICATION_FAILED: "The token or password is wrong, expired or revoked.",
    ErrorCode.FORBIDDEN: "Your role may not do this, or not at this centre.",
    ErrorCode.NOT_FOUND: "No such resource, or not visible to you.",
    ErrorCode.METHOD_NOT_ALLOWED: "This URL does not accept this HTTP method.",
    ErrorCode.NOT_ACCEPTABLE: "The API answers in application/json only.",
    ErrorCode.LOCKED: "The casebook is locked and read-only.",
    ErrorCode.CONFLICT: "The resource exists already or changed meanwhile.",
    ErrorCode.IDEMPOTENCY_KEY_IN_USE: "A request with this Idempotency-Key is still running.",
    ErrorCode.STALE: "The version you sent is not the current one; reload and retry.",
    ErrorCode.EXPIRED: "The export's download link has expired; run the export again.",
    ErrorCode.NO_PLAN: "There is no analysis plan yet: a PI must save one first.",
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: "Send the body as application/json.",
    ErrorCode.IDEMPOTENCY_KEY_REUSED: "This Idempotency-Key was used for a different request.",
    ErrorCode.THROTTLED: "Too many requests; wait for the Retry-After seconds.",
    ErrorCode.PAYLOAD_TOO_LARGE: "The body is larger than the server accepts (API_MAX_BODY_BYTES).",
    ErrorCode.SERVER_ERROR: "An unexpected error; it was logged with the reference given.",
    ErrorCode.SERVICE_UNAVAILABLE: "The database is unreachable for now; retry after Retry-After.",
}


class ApplicationError(Exception):
    """The one error type of services and entry points; ``code`` says how to answer.

    ``fields`` maps an input field name (or ``__all__``) to its messages, so a form or
    an API client can show each message next to the field it is about.
    """

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode = ErrorCode.INVALID,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = ErrorCode(code)
        self.fields = fields or {}

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


def field_error(field: str, message: str, *, code: ErrorCode = ErrorCode.INVALID):
    """An error about one input field: "<field>: <message>", with the field named."""
    text = _("%(field)s: %(message)s") % {"field": field, "message": message}
    return ApplicationError(text, code=code, fields={field: [message]})
