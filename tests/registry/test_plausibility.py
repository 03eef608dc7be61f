"""Plausible values, one rule for every road in (services, API, pages): initials are two to
four letters (stored in capitals), dates fall between a plausible earliest date and today,
free text has no control characters. Each refusal names the field and changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from core.errors import ApplicationError
from registry import services
from registry.models import Patient
from tests import builders
from tests.api_support import assert_error, jsonable


@pytest.mark.parametrize("initials", ["1", "a", "<b>", "J.D", "J1", "J D"])
def test_initials_other_than_two_to_four_letters_are_refused(coordinator_a, initials):
    with pytest.raises(ApplicationError) as caught:
        builders.register_patient(coordinator_a, initials=initials)
    assert "initials" in caught.value.fields
    assert "two to four letters" in caught.value.fields["initials"][0]
    assert not Patient.objects.exists()


def test_initials_are_stored_in_capitals(coordinator_a):
    assert builders.register_patient(coordinator_a, initials="jd").initials == "JD"


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("date_of_birth", date(1, 1, 1), "before 1 Jan 1900"),
        ("date_of_birth", date(1899, 12, 31), "before 1 Jan 1900"),
        ("registration_date", date(2999, 1, 1), "in the future"),
        ("registration_date", date(1999, 12, 31), "before 1 Jan 2000"),
    ],
)
def test_implausible_registration_dates_are_refused(coordinator_a, field, value, rule):
    with pytest.raises(ApplicationError) as caught:
        builders.register_patient(coordinator_a, **{field: value})
    assert rule in caught.value.fields[field][0]
    assert not Patient.objects.exists()


def test_the_bounds_themselves_are_accepted(coordinator_a):
    patient = builders.register_patient(
        coordinator_a, date_of_birth=date(1900, 1, 1), registration_date=timezone.localdate()
    )
    assert patient.date_of_birth == date(1900, 1, 1)


def test_a_clinical_date_in_the_future_is_refused(coordinator_a):
    patient = builders.register_patient(coordinator_a)
    tomorrow = timezone.localdate() + timedelta(days=1)
    with pytest.raises(ApplicationError) as caught:
        services.crf_record_save(
            user=coordinator_a,
            patient=patient,
            section="baseline",
            data=builders.baseline(diagnosis_date=tomorrow),
        )
    assert "in the future" in caught.value.fields["diagnosis_date"][0]
    assert not hasattr(Patient.objects.get(pk=patient.pk), "baseline")


def test_control_characters_in_free_text_are_refused_by_the_service(coordinator_a):
    with pytest.raises(ApplicationError) as caught:
        builders.register_patient(coordinator_a, notes="ok\x00not ok")
    assert "U+0000" in caught.value.fields["notes"][0]


def test_the_api_gives_the_same_message(api_a, center_a):
    body = jsonable(builders.registration(initials="<b>", date_of_birth=date(1, 1, 1)))
    error = assert_error(api_a.post("/api/v1/patients/", body, format="json"), 400, "invalid")
    assert "two to four letters" in error["fields"]["initials"][0]
    assert "before 1 Jan 1900" in error["fields"]["date_of_birth"][0]
    assert not Patient.objects.exists()


def test_the_registration_page_gives_the_same_message(coordinator_a):
    client = Client()
    client.force_login(coordinator_a)
    form = {k: v for k, v in builders.registration(initials="1").items() if v is not False}
    response = client.post("/patients/register/", form)
    assert response.status_code == 200  # the form again, with its errors
    assert "two to four letters" in response.content.decode()
    assert not Patient.objects.exists()
