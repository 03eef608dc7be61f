"""The patient history page: every field change with old → new and reason, and events."""

from django.urls import reverse

from registry import services
from registry.models import Baseline
from tests.builders import build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD


def _history(client, user, patient) -> str:
    client.force_login(user)
    response = client.get(reverse("registry:history", args=[patient.study_id]))
    assert response.status_code == 200
    return response.content.decode()


def test_history_shows_a_change_with_old_new_and_reason(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    services.section_mark_complete(user=coordinator_a, patient=patient, section="baseline")
    baseline = Baseline.objects.get(patient=patient)
    url = reverse("registry:part_edit", args=[patient.study_id, "baseline"])
    client.force_login(coordinator_a)
    data = {
        "smoking": "former",
        "pack_years": "30",
        "height_cm": "170",
        "weight_kg": "65",
        "ecog": "2",
        "diagnosis_date": "2020-01-10",
        "diagnosis_confirmation": "histological",
        "extensive_stage_basis": "distant_metastasis",
        "mets_brain": "False",
        "mets_liver": "False",
        "mets_bone": "True",
        "mets_adrenal": "False",
        "mets_other": "False",
        "version": str(baseline.version),
        "reason": "ECOG corrected from the clinic letter",
    }
    assert client.post(url, data).status_code == 302
    page = _history(client, coordinator_a, patient)
    assert "ECOG performance status</span>: <del>1</del> → <ins>2</ins>" in page, (
        "the change with its old and new value"
    )
    assert "ECOG corrected from the clinic letter" in page


def test_history_shows_deletion_with_reason(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    event = patient.adverse_events.get()
    services.crf_record_delete(
        user=coordinator_a,
        patient=patient,
        section="adverse_events",
        record_id=event.pk,
        expected_version=event.version,
        reason="Duplicate of another entry",
    )
    page = _history(client, coordinator_a, patient)
    assert "Record deleted" in page
    assert "Duplicate of another entry" in page


def test_history_shows_lock_and_unlock_events(client, coordinator_a, investigator_a, data_manager):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    services.casebook_unlock(user=data_manager, patient=patient, reason="Monitoring query")
    page = _history(client, coordinator_a, patient)
    assert "Locked and signed" in page
    assert "Unlocked" in page
    assert "Monitoring query" in page
    assert "Casebook complete" in page


def test_history_hides_identifier_values_from_data_manager(client, coordinator_a, data_manager):
    patient = build_casebook(coordinator_a)
    page = _history(client, data_manager, patient)
    assert patient.mrn not in page
    assert "(identifier hidden)" in page


def test_history_of_other_centre_is_404(client, coordinator_a, coordinator_b):
    patient = build_casebook(coordinator_a)
    client.force_login(coordinator_b)
    assert client.get(reverse("registry:history", args=[patient.study_id])).status_code == 404
