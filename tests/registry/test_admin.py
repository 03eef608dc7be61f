"""The Django admin: centre scope (404), identifiers, read-only locked casebooks, writes
through the services."""

import pytest
from django.urls import reverse

from registry.models import AdverseEvent, AuditEvent, Baseline, Patient
from tests import builders
from tests.factories import TEST_PASSWORD, UserFactory


def staff(user):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def login(client, user):
    client.force_login(staff(user))
    return client


def change_url(obj):
    return reverse(f"admin:registry_{obj._meta.model_name}_change", args=[obj.pk])


@pytest.fixture
def casebook(coordinator_a):
    return builders.build_casebook(coordinator_a)


@pytest.fixture
def locked(coordinator_a, investigator_a):
    patient = builders.build_casebook(coordinator_a, complete=True)
    builders.lock_casebook(patient, investigator_a, TEST_PASSWORD)
    return patient


def baseline_post(baseline, **changes):
    data = {
        **{k: v for k, v in builders.baseline().items() if v is not None},
        "expected_version": baseline.version,
        "change_reason": "",
        **changes,
    }
    # Checkboxes: absent means False.
    return {k: ("on" if v is True else v) for k, v in data.items() if v is not False}


def test_other_centre_coordinator_gets_404_for_a_patient(client, coordinator_b, casebook):
    response = login(client, coordinator_b).get(change_url(casebook))
    assert response.status_code == 404


def test_other_centre_coordinator_gets_404_for_a_crf_record(client, coordinator_b, casebook):
    response = login(client, coordinator_b).get(change_url(casebook.baseline))
    assert response.status_code == 404


def test_other_centre_coordinator_gets_404_for_the_history(client, coordinator_b, casebook):
    url = reverse("admin:registry_patient_history", args=[casebook.pk])
    assert login(client, coordinator_b).get(url).status_code == 404


def test_patient_list_shows_only_the_own_centre(client, coordinator_a, coordinator_b, casebook):
    builders.register_patient(coordinator_b)
    response = login(client, coordinator_a).get(reverse("admin:registry_patient_changelist"))
    assert "AAA-0001" in response.text
    assert "BBB-0001" not in response.text


def test_data_manager_sees_all_centres_without_identifiers(
    client, coordinator_b, data_manager, casebook
):
    builders.register_patient(coordinator_b, mrn="MRN-SECRET-B")
    response = login(client, data_manager).get(reverse("admin:registry_patient_changelist"))
    assert "AAA-0001" in response.text and "BBB-0001" in response.text
    assert "MRN-SECRET-B" not in response.text


def test_data_manager_change_form_hides_identifiers(client, data_manager, casebook):
    response = login(client, data_manager).get(change_url(casebook))
    assert response.status_code == 200
    assert casebook.mrn not in response.text
    assert 'name="date_of_birth"' not in response.text


def test_own_centre_coordinator_sees_identifiers(client, coordinator_a, casebook):
    response = login(client, coordinator_a).get(change_url(casebook))
    assert casebook.mrn in response.text


def test_admin_edit_goes_through_the_service_and_is_audited(client, coordinator_a, casebook):
    baseline = casebook.baseline
    response = login(client, coordinator_a).post(
        change_url(baseline), baseline_post(baseline, ecog=2)
    )
    assert response.status_code == 302
    baseline.refresh_from_db()
    assert (baseline.ecog, baseline.version) == (2, 2)
    assert baseline.history.order_by("-history_id").first().history_user == coordinator_a


def test_admin_edit_with_a_broken_rule_shows_the_error_and_saves_nothing(
    client, coordinator_a, casebook
):
    baseline = casebook.baseline
    response = login(client, coordinator_a).post(
        change_url(baseline), baseline_post(baseline, diagnosis_date="2021-12-01")
    )
    assert response.status_code == 200
    assert "must not be after the registration date" in response.text
    assert Baseline.objects.get().diagnosis_date == builders.baseline()["diagnosis_date"]


def test_admin_edit_of_a_stale_form_is_refused(client, coordinator_a, investigator_a, casebook):
    baseline = casebook.baseline
    read = baseline_post(baseline, ecog=3)  # the form as the coordinator loaded it (version 1)
    builders.services.crf_record_save(
        user=investigator_a,
        patient=casebook,
        section="baseline",
        data={"ecog": 2},
        expected_version=baseline.version,
    )
    response = login(client, coordinator_a).post(change_url(baseline), read)
    assert "This form was changed by ivan at" in response.text
    assert Baseline.objects.get().ecog == 2


def test_locked_casebook_is_read_only_in_admin(client, coordinator_a, locked):
    baseline = Baseline.objects.get(patient=locked)
    client = login(client, coordinator_a)
    page = client.get(change_url(baseline))
    response = client.post(change_url(baseline), baseline_post(baseline, ecog=3))
    assert 'name="ecog"' not in page.text  # rendered read-only
    assert response.status_code == 403
    assert Baseline.objects.get().ecog == 1


def test_locked_casebook_records_cannot_be_deleted_in_admin(client, coordinator_a, locked):
    event = AdverseEvent.objects.get(patient=locked)
    url = reverse("admin:registry_adverseevent_delete", args=[event.pk])
    response = login(client, coordinator_a).post(url, {"post": "yes", "reason": "duplicate"})
    assert response.status_code == 403
    assert AdverseEvent.objects.filter(pk=event.pk).exists()


def test_admin_delete_needs_a_reason(client, coordinator_a, casebook):
    event = AdverseEvent.objects.get(patient=casebook)
    url = reverse("admin:registry_adverseevent_delete", args=[event.pk])
    login(client, coordinator_a).post(url, {"post": "yes", "reason": ""})
    assert AdverseEvent.objects.filter(pk=event.pk).exists()


def test_admin_delete_with_a_reason_is_audited(client, coordinator_a, casebook):
    event = AdverseEvent.objects.get(patient=casebook)
    url = reverse("admin:registry_adverseevent_delete", args=[event.pk])
    login(client, coordinator_a).post(url, {"post": "yes", "reason": "duplicate entry"})
    assert not AdverseEvent.objects.filter(pk=event.pk).exists()
    assert AuditEvent.objects.get(action="delete").reason == "duplicate entry"


def test_pi_can_read_but_not_change_in_admin(client, pi_user, casebook):
    client = login(client, pi_user)
    page = client.get(change_url(casebook.baseline))
    response = client.post(change_url(casebook.baseline), baseline_post(casebook.baseline, ecog=3))
    assert page.status_code == 200
    assert response.status_code == 403
    assert Baseline.objects.get().ecog == 1


def test_status_fields_are_read_only(client, coordinator_a, casebook):
    response = login(client, coordinator_a).get(change_url(casebook))
    assert 'name="casebook_status"' not in response.text
    assert 'name="study_id"' not in response.text
    assert "In progress" in response.text


def test_site_staff_cannot_manage_users(client, coordinator_a):
    response = login(client, coordinator_a).get(reverse("admin:registry_user_changelist"))
    assert response.status_code == 403


def test_audit_events_of_other_centres_are_not_listed(client, coordinator_a, coordinator_b):
    builders.register_patient(coordinator_b)
    response = login(client, coordinator_a).get(reverse("admin:registry_auditevent_changelist"))
    assert "BBB-0001" not in response.text


def test_history_hides_identifier_changes_from_the_data_manager(
    client, coordinator_a, data_manager
):
    patient = builders.register_patient(coordinator_a, mrn="OLD-MRN-1")
    builders.services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="registration",
        data={"mrn": "NEW-MRN-2"},
        expected_version=patient.version,
    )
    url = reverse("admin:registry_patient_history", args=[patient.pk])
    response = login(client, data_manager).get(url)
    assert response.status_code == 200
    assert "OLD-MRN-1" not in response.text and "NEW-MRN-2" not in response.text


def test_own_centre_history_shows_identifier_changes(client, coordinator_a):
    patient = builders.register_patient(coordinator_a, mrn="OLD-MRN-1")
    builders.services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="registration",
        data={"mrn": "NEW-MRN-2"},
        expected_version=patient.version,
    )
    url = reverse("admin:registry_patient_history", args=[patient.pk])
    response = login(client, coordinator_a).get(url)
    assert "OLD-MRN-1" in response.text and "NEW-MRN-2" in response.text


def test_site_admin_page_needs_staff_status(client, center_a):
    user = UserFactory(username="nostaff", role="coordinator", center=center_a)
    client.force_login(user)
    response = client.get(reverse("admin:registry_patient_changelist"))
    assert response.status_code == 302  # to the admin login


def test_admin_registers_a_patient_through_the_service(client, coordinator_a, center_a):
    data = {
        **{k: ("on" if v is True else v) for k, v in builders.registration(mrn="ADM-1").items()},
        "center": center_a.pk,
    }
    data = {k: v for k, v in data.items() if v is not False}
    response = login(client, coordinator_a).post(reverse("admin:registry_patient_add"), data)
    assert response.status_code == 302
    patient = Patient.objects.get(mrn="ADM-1")
    assert (patient.study_id, patient.enrolment_status) == ("AAA-0001", "enrolled")
    assert AuditEvent.objects.get(patient=patient).action == "register"


def test_admin_add_offers_only_own_centre_unlocked_patients(
    client, coordinator_a, coordinator_b, locked
):
    open_patient = builders.register_patient(coordinator_a)
    other = builders.register_patient(coordinator_b)
    page = login(client, coordinator_a).get(reverse("admin:registry_adverseevent_add"))
    options = page.context["adminform"].form.fields["patient"].queryset
    assert list(options) == [open_patient]
    assert other not in options and locked not in options


def test_admin_adds_an_adverse_event_with_the_rules_applied(client, coordinator_a, casebook):
    data = {
        **builders.adverse_event(onset_date="2021-02-01"),
        "patient": casebook.pk,
        "change_reason": "",
    }
    data = {k: v for k, v in data.items() if v is not False}
    response = login(client, coordinator_a).post(reverse("admin:registry_adverseevent_add"), data)
    assert "must not be before the 2L start date (1 Mar 2021)" in response.text
    assert AdverseEvent.objects.filter(patient=casebook).count() == 1


def test_history_of_a_malformed_id_is_not_found(client, coordinator_a):
    response = login(client, coordinator_a).get("/admin/registry/patient/abc/history/")
    assert response.status_code == 404


def test_other_centre_coordinator_gets_404_for_a_history_version(client, coordinator_b, casebook):
    version = casebook.history.first()
    url = reverse("admin:registry_patient_simple_history", args=[casebook.pk, version.pk])
    assert login(client, coordinator_b).get(url).status_code == 404
