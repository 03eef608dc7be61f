"""The one error vocabulary: every code has one HTTP status and one description."""

import pytest

from core.errors import DESCRIPTIONS, HTTP_STATUS, ApplicationError, ErrorCode, field_error
from registry.models import LockedCasebookError


def test_every_code_has_a_status_and_a_description():
    assert set(HTTP_STATUS) == set(ErrorCode)
    assert set(DESCRIPTIONS) == set(ErrorCode)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (ErrorCode.INVALID, 400),
        (ErrorCode.NOT_AUTHENTICATED, 401),
        (ErrorCode.FORBIDDEN, 403),
        (ErrorCode.NOT_FOUND, 404),
        (ErrorCode.LOCKED, 409),
        (ErrorCode.EXPIRED, 410),
        (ErrorCode.STALE, 412),
        (ErrorCode.IDEMPOTENCY_KEY_REUSED, 422),
        (ErrorCode.THROTTLED, 429),
        (ErrorCode.SERVER_ERROR, 500),
    ],
)
def test_codes_map_to_their_http_status(code, status):
    assert ApplicationError("x", code=code).http_status == status


def test_an_unknown_code_is_refused_when_the_error_is_made():
    with pytest.raises(ValueError, match="'teapot' is not a valid ErrorCode"):
        ApplicationError("x", code="teapot")


def test_a_field_error_names_the_field_in_its_message_and_fields():
    error = field_error("weight_kg", "At most 250.")
    assert error.message == "weight_kg: At most 250."
    assert error.fields == {"weight_kg": ["At most 250."]}
    assert error.code == ErrorCode.INVALID


def test_the_models_refusal_of_a_locked_casebook_is_a_locked_application_error():
    error = LockedCasebookError("Casebook AAA-0001 is locked.")
    assert isinstance(error, ApplicationError)
    assert error.code == ErrorCode.LOCKED
    assert error.http_status == 409
