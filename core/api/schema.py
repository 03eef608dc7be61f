"""OpenAPI generation: every operation documents the error answers it can give, in the one
error shape, so schema-driven clients and schemathesis know every response."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

from core.api.idempotency import MAX_KEY_LENGTH

_ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `fields` names each field and rule broken.",
    "401": "Not authenticated: no, wrong, expired or revoked credentials.",
    "403": "Forbidden for your role or centre.",
    "404": "Not found, or not visible to you (another centre's patient).",
    "409": "Conflict: the casebook is locked, or the record exists already.",
    "410": "Gone: the export's download link has expired; run the export again.",
    "412": "Stale: the version sent is not the current one.",
    "415": "The body must be application/json.",
    "422": "The Idempotency-Key was used for a different request.",
    "413": "The body is larger than the server accepts.",
    "429": "Throttled: retry after the Retry-After header's seconds.",
    "503": "The database is unreachable for now: retry after the Retry-After header's seconds.",
}
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    # The key's rules, stated: as a bare string, generated clients (and schemathesis, which
    # found this) sent "" or non-ASCII keys, refused before the body was ever read.
    {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    OpenApiParameter.HEADER,
    required=False,
    pattern=r"^[!-~]([ -~]*[!-~])?$",
    description="Any unique string (≤255 ASCII characters, e.g. a UUID). A retried POST with "
    "the same key returns the first successful answer instead of acting twice; the same "
    "key with a different body is refused (422). Kept for API_IDEMPOTENCY_HOURS (24).",
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description='The record version you read, as given in its ETag (e.g. "3"); an '
    "alternative to `version` in the body or query.",
)


class RegistryAutoSchema(AutoSchema):
    def _error_codes(self) -> list[str]:
        codes = ["400", "429", "503"]
        if self.get_auth():
            codes += ["401", "403", "404"]
        else:
            codes += ["401"]
        if self.method in WRITE_METHODS:
            codes += ["409", "412", "413", "415"]
        if self.method == "POST":
            codes += ["422"]
        return codes

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        from core.api.serializers import ErrorResponseSerializer

        ref = self.resolve_serializer(ErrorResponseSerializer(), direction).ref
        for code in self._error_codes():
            responses.setdefault(
                code,
                {
                    "description": _ERROR_DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": ref}},
                },
            )
        return responses

    def _get_request_body(self, direction="request"):
        # A body whose fields all have defaults is still required where the view says so
        # (spectacular marks a body required only when some field is).
        body = super()._get_request_body(direction)
        if body and getattr(self.view, "request_body_required", False):
            body["required"] = True
        return body

    def get_override_parameters(self):
        params = list(super().get_override_parameters())
        if self.method == "POST" and self.get_auth():
            params.append(IDEMPOTENCY_KEY)
        return params
