"""A write that names a field the client may not set is refused by name: nothing changes and
the version stays (it answered 200, did nothing, and bumped the version before)."""

from __future__ import annotations

import pytest

from registry.models import Patient
from tests.api_support import assert_error
from tests.builders import build_casebook, register_patient


@pytest.mark.parametrize(
    ("field", "value"),
    [("casebook_status", "locked"), ("center", "BBB"), ("study_id", "BBB-0001")],
)
def test_patch_of_a_read_only_registration_field_is_400_naming_it(
    api_a, coordinator_a, center_b, field, value
):
    patient = register_patient(coordinator_a)
    before = Patient.objects.values().get(pk=patient.pk)
    url = f"/api/v1/patients/{patient.study_id}/registration/"
    body = {field: value, "initials": "ZZ", "version": patient.version}
    error = assert_error(api_a.patch(url, body, format="json"), 400, "invalid", field=field)
    assert "Read-only" in error["fields"][field][0]
    assert Patient.objects.values().get(pk=patient.pk) == before


def test_unknown_field_in_a_record_write_is_400_naming_it(api_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    url = f"/api/v1/patients/{patient.study_id}/baseline/"
    body = {"ecog": 2, "ecgo": 3, "version": patient.baseline.version}
    error = assert_error(api_a.patch(url, body, format="json"), 400, "invalid", field="ecgo")
    assert error["fields"]["ecgo"] == ["Unknown field; nothing was changed."]
    patient.baseline.refresh_from_db()
    assert patient.baseline.version == 1


def test_writable_fields_alone_still_save(api_a, coordinator_a):
    patient = register_patient(coordinator_a)
    url = f"/api/v1/patients/{patient.study_id}/registration/"
    response = api_a.patch(url, {"initials": "ZZ", "version": patient.version}, format="json")
    assert response.status_code == 200, response.content
    assert Patient.objects.get(pk=patient.pk).initials == "ZZ"
