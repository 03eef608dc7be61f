"""The add/edit forms of every CRF part, through the Django test client.

Each case is one part of the casebook built by ``build_casebook`` (values in
tests.builders): a valid change, and an invalid value with the message that
must appear next to its field.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from registry import services
from registry.forms import crf_fields
from registry.models import (
    AdverseEvent,
    Baseline,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    TumourAssessment,
)
from registry.services import REGISTRATION_EDITABLE
from tests import builders
from tests.builders import build_casebook
from tests.module_data import committed_for_module
from tests.registry.pages_support import alices_casebook, field_block, form_data, snapshot


@dataclass(frozen=True)
class Case:
    section: str
    model: type
    change: dict
    invalid: dict
    error_field: str
    message: str

    def record(self, patient):
        if self.model is Patient:
            return Patient.objects.get(pk=patient.pk)
        return self.model.objects.filter(patient=patient).order_by("pk").first()

    def url(self, patient):
        record = self.record(patient)
        if self.section in ("assessments", "adverse_events", "follow_up"):
            return reverse("registry:row_edit", args=[patient.study_id, self.section, record.pk])
        return reverse("registry:part_edit", args=[patient.study_id, self.section])

    def current(self, patient, **changes) -> dict[str, str]:
        record = self.record(patient)
        names = REGISTRATION_EDITABLE if self.model is Patient else crf_fields(self.model)
        data = {name: getattr(record, name) for name in names}
        data.update(changes)
        return form_data(data, version=record.version)


CASES = [
    Case(
        "registration",
        Patient,
        {"initials": "CD"},
        {"date_of_birth": date(2010, 1, 1)},
        "date_of_birth",
        "must be at least 18 at registration",
    ),
    Case(
        "baseline",
        Baseline,
        {"ecog": 2},
        {"height_cm": 90},
        "height_cm",
        "Ensure this value is greater than or equal to 100.",
    ),
    Case(
        "first_line",
        FirstLineTherapy,
        {"cycles": 6},
        {"progression_date": date(2020, 1, 1)},
        "progression_date",
        "1L progression date must not be before the atezolizumab start date.",
    ),
    Case(
        "second_line",
        SecondLineTherapy,
        {"cycles": 8},
        {"start_date": date(2021, 2, 1)},
        "start_date",
        "2L start date must not be before the 1L progression date (15 Feb 2021).",
    ),
    Case(
        "assessments",
        TumourAssessment,
        {"target_sum_mm": Decimal("110.0")},
        {"assessment_date": date(2019, 12, 1)},
        "assessment_date",
        "must not be before the diagnosis date (10 Jan 2020).",
    ),
    Case(
        "adverse_events",
        AdverseEvent,
        {"grade": 2},
        {"onset_date": date(2021, 2, 20)},
        "onset_date",
        "Onset date must not be before the 2L start date (1 Mar 2021).",
    ),
    Case(
        "follow_up",
        FollowUp,
        {"progression_status": "unknown"},
        {"vital_status": "dead"},
        "death_date",
        "Vital status is &#x27;Dead&#x27;: give the death date.",
    ),
]
IDS = [case.section for case in CASES]


def _open_and_locked_casebooks() -> tuple[int, int]:
    return alices_casebook(), alices_casebook(locked=True)


@pytest.fixture(scope="module")
def casebook_ids(django_db_setup, django_db_blocker):
    """Built once for the module. The edits, rows and deletions a test makes go through the
    test client in the test's own transaction and are rolled back with it; the locked
    casebook refuses every change."""
    yield from committed_for_module(django_db_blocker, _open_and_locked_casebooks)


@pytest.fixture
def patient(casebook_ids, db):
    """Alice's casebook with every part entered (open), read afresh for each test."""
    return Patient.objects.get(pk=casebook_ids[0])


@pytest.fixture
def locked_patient(casebook_ids, db):
    """Alice's casebook, complete, signed and locked by Ivan."""
    return Patient.objects.get(pk=casebook_ids[1])


@pytest.fixture
def client_a(client, coordinator_a):
    client.force_login(coordinator_a)
    return client


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_edit_form_renders_current_values_for_coordinator(case, client_a, patient):
    response = client_a.get(case.url(patient))
    assert response.status_code == 200
    field = next(iter(case.change))
    stored = getattr(case.record(patient), field)
    assert str(response.context["form"][field].value()) == str(stored)
    assert f'name="{field}"' in field_block(response.content.decode(), field)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_valid_edit_is_saved_through_the_service(case, client_a, patient):
    before = case.record(patient)
    response = client_a.post(case.url(patient), case.current(patient, **case.change))
    assert response.status_code == 302
    after = case.record(patient)
    field, value = next(iter(case.change.items()))
    assert getattr(after, field) == value
    assert after.version == before.version + 1
    assert after.history.first().history_user.username == "alice"


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_invalid_value_is_shown_next_to_its_field_and_nothing_is_saved(case, client_a, patient):
    before = snapshot()
    response = client_a.post(case.url(patient), case.current(patient, **case.invalid))
    assert response.status_code == 200
    assert case.message in field_block(response.content.decode(), case.error_field)
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_stale_version_is_refused_with_who_and_when(case, client_a, patient, investigator_a):
    stale_form = case.current(patient, **case.change)
    # Someone else saves the same record after the form was opened.
    record = case.record(patient)
    services.crf_record_save(
        user=investigator_a,
        patient=patient,
        section=case.section,
        data={},
        record_id=record.pk if case.model is not Patient else None,
        expected_version=record.version,
    )
    before = snapshot()
    response = client_a.post(case.url(patient), stale_form)
    assert response.status_code == 200
    page = response.content.decode()
    assert "This form was changed by ivan at" in page
    assert "reload it and enter your change again" in page
    assert snapshot() == before
    field, value = next(iter(case.change.items()))
    assert getattr(case.record(patient), field) != value


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_locked_casebook_refuses_post_with_409(case, client_a, locked_patient):
    data = case.current(locked_patient, **case.change)
    before = snapshot()
    response = client_a.post(case.url(locked_patient), data)
    assert response.status_code == 409
    assert "is locked and read-only" in response.content.decode()
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_locked_casebook_form_redirects_to_read_only_casebook(case, client_a, locked_patient):
    response = client_a.get(case.url(locked_patient))
    assert response.status_code == 302
    assert response.url == reverse("registry:casebook", args=[locked_patient.study_id])


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_completed_part_requires_a_reason_shown_on_the_form(case, client_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    services.section_mark_complete(user=coordinator_a, patient=patient, section=case.section)
    page = client_a.get(case.url(patient)).content.decode()
    assert 'name="reason"' in page
    before = snapshot()
    response = client_a.post(case.url(patient), case.current(patient, **case.change))
    assert response.status_code == 200
    assert "This field is required." in field_block(response.content.decode(), "reason")
    assert snapshot() == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_completed_part_change_with_reason_is_saved_with_the_reason(case, client_a, coordinator_a):
    patient = build_casebook(coordinator_a)
    services.section_mark_complete(user=coordinator_a, patient=patient, section=case.section)
    data = case.current(patient, **case.change, reason="Corrected from the source record")
    response = client_a.post(case.url(patient), data)
    assert response.status_code == 302
    latest = case.record(patient).history.first()
    assert latest.history_change_reason == "Corrected from the source record"


# -- parts entered for the first time and repeating rows -------------------------------------


def test_baseline_can_be_entered_for_a_new_patient(client_a, coordinator_a):
    patient = builders.register_patient(coordinator_a)
    url = reverse("registry:part_edit", args=[patient.study_id, "baseline"])
    response = client_a.post(url, form_data(builders.baseline(), version=None))
    assert response.status_code == 302
    assert Baseline.objects.get(patient=patient).height_cm == Decimal("170.0")


def test_new_baseline_refused_when_someone_entered_it_meanwhile(
    client_a, coordinator_a, investigator_a
):
    patient = builders.register_patient(coordinator_a)
    url = reverse("registry:part_edit", args=[patient.study_id, "baseline"])
    services.crf_record_save(
        user=investigator_a, patient=patient, section="baseline", data=builders.baseline(ecog=0)
    )
    response = client_a.post(url, form_data(builders.baseline(ecog=3), version=None))
    assert response.status_code == 200
    assert "This form was changed by ivan" in response.content.decode()
    assert Baseline.objects.get(patient=patient).ecog == 0


def test_adverse_event_row_is_added(client_a, patient):
    url = reverse("registry:row_add", args=[patient.study_id, "adverse_events"])
    data = form_data(builders.adverse_event(term="Colitis", grade=2, immune_related=True))
    response = client_a.post(url, data)
    assert response.status_code == 302
    assert response.url.endswith("#adverse-events")
    assert list(AdverseEvent.objects.filter(patient=patient).values_list("term", flat=True)) == [
        "Cough",
        "Colitis",
    ]


def test_save_and_add_another_returns_to_an_empty_add_form(client_a, patient):
    url = reverse("registry:row_add", args=[patient.study_id, "follow_up"])
    data = form_data(builders.follow_up(contact_date=date(2022, 3, 1)), save_add="1")
    response = client_a.post(url, data)
    assert response.status_code == 302
    assert response.url == url
    assert FollowUp.objects.filter(patient=patient).count() == 2


def test_ae_before_second_line_start_is_refused_on_add(client_a, patient):
    url = reverse("registry:row_add", args=[patient.study_id, "adverse_events"])
    before = snapshot()
    response = client_a.post(url, form_data(builders.adverse_event(onset_date=date(2021, 2, 1))))
    assert response.status_code == 200
    assert "Onset date must not be before the 2L start date (1 Mar 2021)." in field_block(
        response.content.decode(), "onset_date"
    )
    assert snapshot() == before


def test_duplicate_assessment_date_and_line_is_refused_next_to_the_date(client_a, patient):
    url = reverse("registry:row_add", args=[patient.study_id, "assessments"])
    response = client_a.post(url, form_data(builders.assessment()))
    assert response.status_code == 200
    assert "A 1L assessment on 15 Jan 2020 is already recorded" in field_block(
        response.content.decode(), "assessment_date"
    )
    assert TumourAssessment.objects.filter(patient=patient).count() == 2


def test_unanswered_yes_no_question_is_required(client_a, patient):
    url = reverse("registry:row_add", args=[patient.study_id, "adverse_events"])
    data = form_data(builders.adverse_event())
    del data["serious"]
    response = client_a.post(url, data)
    assert "This field is required." in field_block(response.content.decode(), "serious")
    assert AdverseEvent.objects.filter(patient=patient).count() == 1


def test_ae_form_marks_immune_related_terms_for_the_script(client_a, patient):
    url = reverse("registry:row_add", args=[patient.study_id, "adverse_events"])
    page = client_a.get(url).content.decode()
    terms = field_block(page, "term")
    assert "data-immune-terms=" in terms
    assert "Colitis" in terms.split("data-immune-terms=")[1].split('"')[1]
    assert 'data-show-when="term:Other, specify"' in page


def test_edit_of_a_row_of_another_patient_is_404(client_a, coordinator_a, patient):
    other = build_casebook(coordinator_a)
    foreign = AdverseEvent.objects.get(patient=other)
    url = reverse("registry:row_edit", args=[patient.study_id, "adverse_events", foreign.pk])
    assert client_a.get(url).status_code == 404


# -- delete ----------------------------------------------------------------------------------


def _delete_url(patient, record):
    return reverse("registry:row_delete", args=[patient.study_id, "adverse_events", record.pk])


def test_delete_asks_for_a_reason(client_a, patient):
    event = AdverseEvent.objects.get(patient=patient)
    page = client_a.get(_delete_url(patient, event)).content.decode()
    assert 'name="reason"' in page
    response = client_a.post(_delete_url(patient, event), {"version": event.version})
    assert "This field is required." in field_block(response.content.decode(), "reason")
    assert AdverseEvent.objects.filter(pk=event.pk).exists()


def test_delete_with_reason_removes_the_row_and_audits_it(client_a, patient):
    event = AdverseEvent.objects.get(patient=patient)
    response = client_a.post(
        _delete_url(patient, event), {"version": event.version, "reason": "Entered twice"}
    )
    assert response.status_code == 302
    assert not AdverseEvent.objects.filter(pk=event.pk).exists()
    deleted = AdverseEvent.history.filter(id=event.pk, history_type="-").get()
    assert deleted.history_change_reason == "Entered twice"


def test_delete_with_stale_version_is_refused(client_a, patient, investigator_a):
    event = AdverseEvent.objects.get(patient=patient)
    services.crf_record_save(
        user=investigator_a,
        patient=patient,
        section="adverse_events",
        data={"grade": 2},
        record_id=event.pk,
        expected_version=event.version,
    )
    response = client_a.post(
        _delete_url(patient, event), {"version": event.version, "reason": "Entered twice"}
    )
    assert response.status_code == 200
    assert "This form was changed by ivan" in response.content.decode()
    assert AdverseEvent.objects.filter(pk=event.pk).exists()


def test_delete_in_locked_casebook_is_refused_with_409(client_a, locked_patient):
    event = AdverseEvent.objects.get(patient=locked_patient)
    response = client_a.post(
        _delete_url(locked_patient, event), {"version": event.version, "reason": "Entered twice"}
    )
    assert response.status_code == 409
    assert AdverseEvent.objects.filter(pk=event.pk).exists()


def test_new_assessment_defaults_to_second_line_once_it_started(client_a, coordinator_a, patient):
    first = builders.register_patient(coordinator_a)
    url = reverse("registry:row_add", args=[first.study_id, "assessments"])
    assert client_a.get(url).context["form"]["line"].value() == "1L"
    url = reverse("registry:row_add", args=[patient.study_id, "assessments"])
    assert client_a.get(url).context["form"]["line"].value() == "2L"
