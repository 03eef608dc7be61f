"""The API's ModelSerializer builds its fields once per class: each instance still gets its
own fields, and date-times follow the time zone active when the serializer is made."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from core.api.models import ApiToken
from core.api.serializers import TokenOutput


def _token() -> ApiToken:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    return ApiToken(name="R scripts", prefix="reg_abcdef", created_at=created, expires_at=created)


def test_each_serializer_instance_binds_its_own_fields():
    first, second = TokenOutput(), TokenOutput()
    assert first.fields["name"] is not second.fields["name"]
    assert (first.fields["name"].parent, second.fields["name"].parent) == (first, second)


def test_date_times_follow_the_time_zone_active_for_each_serializer():
    token = _token()
    with timezone.override("UTC"):
        in_utc = TokenOutput(token).data["created_at"]
    with timezone.override("Asia/Shanghai"):
        in_shanghai = TokenOutput(token).data["created_at"]
    assert (in_utc, in_shanghai) == ("2026-01-02T03:04:05Z", "2026-01-02T11:04:05+08:00")
