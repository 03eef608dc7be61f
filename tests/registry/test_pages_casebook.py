"""The casebook page: part statuses, derived values, identifiers, locked read-only view.

Derived values of ``build_casebook`` (see tests.builders), by hand:
BMI 65 / 1.70² = 22.49 → 22.5 (normal); 1L PFS 2020-01-20 → 2021-02-15 = 392 days
/ 30.4375 = 12.9 months (LTR); DpR (100 − 60) / 100 = 40.0 %; age at 2L start
(born 1957-06-15, 2L 2021-03-01) 63; OS to last known alive 2022-01-10 = 315 days
= 10.3 months censored; PFS to 2L progression 2021-08-01 = 153 days = 5.0 months.
"""

import pytest
from django.urls import reverse

from registry import services
from tests import builders
from tests.builders import build_casebook, lock_casebook, register_patient
from tests.factories import TEST_PASSWORD


def _page(client, user, patient) -> str:
    client.force_login(user)
    response = client.get(reverse("registry:casebook", args=[patient.study_id]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def patient(coordinator_a):
    return build_casebook(coordinator_a)


def test_each_part_shows_its_status(client, coordinator_a):
    patient = register_patient(coordinator_a)
    services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="baseline",
        data=builders.baseline(),
    )
    services.section_mark_complete(user=coordinator_a, patient=patient, section="baseline")
    client.force_login(coordinator_a)
    response = client.get(reverse("registry:casebook", args=[patient.study_id]))
    statuses = {s.value: s.status for s in response.context["sections"]}
    assert statuses == {
        "registration": "incomplete",
        "baseline": "complete",
        "first_line": "not started",
        "assessments": "not started",
        "second_line": "not started",
        "adverse_events": "not started",
        "follow_up": "not started",
    }
    assert "1 of 7" in response.content.decode()


@pytest.mark.parametrize(
    "expected",
    [
        "22.5 kg/m² (normal)",
        "12.9 months",
        "LTR",
        "40.0 %",
        "63 years",
        "10.3 months, censored",
        "5.0 months, progression or death",
        "10 Jan 2022",  # last known alive, as the page's language writes a date
    ],
)
def test_derived_values_are_shown(expected, client, coordinator_a, patient):
    assert expected in _page(client, coordinator_a, patient)


def test_identifiers_are_shown_to_own_centre(client, coordinator_a, patient):
    assert patient.mrn in _page(client, coordinator_a, patient)


def test_identifiers_are_hidden_from_data_manager(client, data_manager, patient):
    page = _page(client, data_manager, patient)
    assert patient.mrn not in page
    assert "1957-06-15" not in page
    assert "63 years" in page


def test_coordinator_sees_edit_and_complete_buttons(client, coordinator_a, patient):
    page = _page(client, coordinator_a, patient)
    assert reverse("registry:part_edit", args=[patient.study_id, "baseline"]) in page
    assert "Mark part complete" in page
    assert "Mark casebook complete" in page


def test_locked_casebook_shows_signature_and_no_edit_buttons(client, coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    page = _page(client, coordinator_a, patient)
    assert "Locked and signed" in page
    assert "Signed by <strong>ivan</strong>" in page
    assert services.SIGNATURE_MEANING in page
    assert reverse("registry:part_edit", args=[patient.study_id, "baseline"]) not in page
    assert "Mark part complete" not in page
    assert "Delete" not in page


def test_screen_failure_page_says_which_criterion_failed(client, coordinator_a):
    patient = register_patient(coordinator_a, exc_severe_systemic_disease=True)
    page = _page(client, coordinator_a, patient)
    assert "Exclusion 1: history of severe systemic disease (answered yes)" in page
    assert "Mark part complete" not in page
