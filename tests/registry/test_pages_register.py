"""Registering a patient: eligibility as explicit yes/no answers, screen failures."""

from datetime import date

from django.urls import reverse

from registry.models import Patient
from tests import builders
from tests.registry.pages_support import field_block, form_data, snapshot

REGISTER = reverse("registry:patient_register")


def test_register_form_renders_yes_no_radios_for_each_criterion(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.get(REGISTER)
    assert response.status_code == 200
    page = response.content.decode()
    for name in (*Patient.inclusion_fields, *Patient.exclusion_fields):
        block = field_block(page, name)
        assert 'type="radio"' in block
        assert 'value="True"' in block and 'value="False"' in block
    assert 'name="center"' not in page


def test_eligible_patient_is_enrolled_at_own_centre(client, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(REGISTER, form_data(builders.registration(mrn="H-1")))
    patient = Patient.objects.get(mrn="H-1")
    assert response.url == reverse("registry:casebook", args=["AAA-0001"])
    assert (patient.study_id, patient.enrolment_status) == ("AAA-0001", "enrolled")


def test_screen_failure_asks_for_confirmation_and_saves_nothing_first(client, coordinator_a):
    client.force_login(coordinator_a)
    data = form_data(builders.registration(inc_extensive_stage=False))
    before = snapshot()
    response = client.post(REGISTER, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert snapshot() == before
    assert "These answers record a screen failure, which is final." in page
    assert "Failed criterion: Inclusion 2: extensive stage (answered no)." in page
    assert 'name="confirm_screen_failure" value="1"' in page


def test_screen_failure_page_names_the_failed_criterion(client, coordinator_a):
    client.force_login(coordinator_a)
    data = form_data(builders.registration(inc_extensive_stage=False))
    response = client.post(REGISTER, {**data, "confirm_screen_failure": "1"}, follow=True)
    page = response.content.decode()
    assert Patient.objects.get().enrolment_status == "screen_failure"
    assert "Screen failure" in page
    assert "Inclusion 2: extensive stage (answered no)" in page


def test_unanswered_criterion_is_shown_next_to_it_and_nothing_saved(client, coordinator_a):
    client.force_login(coordinator_a)
    data = form_data(builders.registration())
    del data["exc_autoimmune_disease"]
    before = snapshot()
    response = client.post(REGISTER, data)
    assert response.status_code == 200
    assert "This field is required." in field_block(
        response.content.decode(), "exc_autoimmune_disease"
    )
    assert snapshot() == before


def test_under_age_patient_is_refused_next_to_date_of_birth(client, coordinator_a):
    client.force_login(coordinator_a)
    data = form_data(builders.registration(date_of_birth=date(2010, 1, 1)))
    response = client.post(REGISTER, data)
    assert "must be at least 18 at registration" in field_block(
        response.content.decode(), "date_of_birth"
    )
    assert not Patient.objects.exists()


def test_duplicate_mrn_is_refused_next_to_mrn(client, coordinator_a):
    builders.register_patient(coordinator_a, mrn="H-7")
    client.force_login(coordinator_a)
    response = client.post(REGISTER, form_data(builders.registration(mrn="H-7")))
    assert "already registered at this centre" in field_block(response.content.decode(), "mrn")
    assert Patient.objects.count() == 1


def test_data_manager_must_choose_the_centre(client, data_manager, center_b):
    client.force_login(data_manager)
    response = client.post(REGISTER, form_data(builders.registration()))
    assert "This field is required." in field_block(response.content.decode(), "center")
    response = client.post(REGISTER, form_data(builders.registration(), center=str(center_b.pk)))
    assert Patient.objects.get().study_id == "BBB-0001"


def test_coordinator_cannot_register_at_another_centre(client, coordinator_a, center_b):
    client.force_login(coordinator_a)
    client.post(REGISTER, form_data(builders.registration(), center=str(center_b.pk)))
    assert Patient.objects.get().center.code == "AAA"


def test_crf_form_of_a_screen_failure_is_refused_before_it_is_filled(client, coordinator_a):
    patient = builders.register_patient(coordinator_a, inc_extensive_stage=False)
    client.force_login(coordinator_a)
    for path in (
        reverse("registry:part_edit", args=[patient.study_id, "baseline"]),
        reverse("registry:row_add", args=[patient.study_id, "adverse_events"]),
    ):
        response = client.get(path, follow=True)
        assert response.redirect_chain[-1][0] == reverse("registry:casebook", args=["AAA-0001"])
        page = response.content.decode()
        assert "AAA-0001 is a screen failure" in page and "no casebook to fill" in page
        assert 'name="smoking"' not in page
