"""The API's ModelSerializer builds its fields once per class: each instance still gets its
own fields, and date-times follow the time zone active when the serializer is made; plain
columns are read straight from the model, writing what DRF's own lookup writes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone
from rest_framework import serializers

from core.api.models import ApiToken
from core.api.serializers import ModelSerializer, TokenOutput
from tests.builders import build_casebook, lock_casebook, register_patient
from tests.factories import TEST_PASSWORD


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


# -- a plain column read straight from the model --------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/patients/",
        "/api/v1/patients/{id}/",
        "/api/v1/patients/{id}/registration/",
        "/api/v1/patients/{id}/adverse-events/",
        "/api/v1/tokens/",
    ],
)
@pytest.mark.parametrize("reader", ["api_a", "api_dm"])
def test_answers_equal_those_of_drfs_own_attribute_lookup(
    url, reader, request, coordinator_a, investigator_a, monkeypatch
):
    """The shortcut for plain columns (core.api.serializers.ModelSerializer.to_representation)
    writes what DRF's generic lookup writes: identifiers shown and masked, dates, decimals,
    choices, nulls, nested parts and the signature of a locked casebook."""
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    register_patient(coordinator_a)  # and one with no parts
    client = request.getfixturevalue(reader)
    url = url.replace("{id}", patient.study_id)
    fast = client.get(url)
    assert fast.status_code == 200, fast.content
    monkeypatch.setattr(
        ModelSerializer, "to_representation", serializers.ModelSerializer.to_representation
    )
    assert client.get(url).json() == fast.json()


def test_plain_columns_take_the_shortcut_and_nothing_else_does():
    from registry.api.serializers import PatientListOutput
    from registry.models import Center, Patient

    serializer = PatientListOutput()
    serializer.to_representation(Patient(center=Center(code="AAA"), study_id="AAA-0001"))
    shortcut = {name for name, _field, column in serializer._representation_plan if column}
    # centre (a relation's column) and locked (a property) keep DRF's lookup
    assert shortcut == set(PatientListOutput.Meta.fields) - {"center", "locked"}
