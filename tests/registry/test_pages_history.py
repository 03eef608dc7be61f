"""The patient history page: every field change with old → new and reason, and events."""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from registry import selectors, services
from registry.models import Baseline
from registry.presenters import history_rows
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


def test_history_filtered_by_part_shows_only_that_part(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    client.force_login(coordinator_a)
    url = reverse("registry:history", args=[patient.study_id])
    html = client.get(url, {"part": "first_line"}).content.decode()
    assert "First-line therapy" in html
    assert "Baseline" not in html.split("<tbody>", 1)[1]
    assert "1 entry" in html


def test_history_filtered_by_dates_keeps_the_days_inside_the_range(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    today = timezone.now().date()
    client.force_login(coordinator_a)
    url = reverse("registry:history", args=[patient.study_id])
    inside = client.get(url, {"date_from": today.isoformat(), "date_to": today.isoformat()})
    before = client.get(url, {"date_to": (today - timedelta(days=1)).isoformat()})
    assert "No changes match." not in inside.content.decode()
    assert "No changes match." in before.content.decode()


def test_history_date_range_backwards_is_refused_next_to_the_field(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    client.force_login(coordinator_a)
    url = reverse("registry:history", args=[patient.study_id])
    response = client.get(url, {"date_from": "2024-05-02", "date_to": "2024-05-01"})
    assert response.status_code == 200
    assert "“To” must not be before “From”." in response.content.decode()


def test_history_is_paged_fifty_entries_a_page(client, coordinator_a, settings):
    patient = build_casebook(coordinator_a)
    for weight in range(66, 126):  # 60 changes of the weight, each a history entry
        record = Baseline.objects.get(patient=patient)
        services.crf_record_save(
            user=coordinator_a,
            patient=patient,
            section="baseline",
            data={"weight_kg": weight},
            record_id=None,
            expected_version=record.version,
        )
    client.force_login(coordinator_a)
    url = reverse("registry:history", args=[patient.study_id])
    first = client.get(url).content.decode()
    assert first.count('<tr class="kind-') == 50
    assert "Page 1 of 2" in first
    second = client.get(url, {"page": 2}).content.decode()
    total = len(history_rows(selectors.patient_history(patient, identifiers=True)))
    assert second.count('<tr class="kind-') == total - 50


def test_history_of_another_centre_is_404_even_filtered(client, coordinator_a, coordinator_b):
    patient = build_casebook(coordinator_a)
    client.force_login(coordinator_b)
    url = reverse("registry:history", args=[patient.study_id])
    assert client.get(url, {"part": "baseline"}).status_code == 404


def test_a_record_created_with_many_fields_folds_its_list(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    html = _history(client, coordinator_a, patient)
    rows = history_rows(selectors.patient_history(patient, identifiers=True))
    baseline = next(r for r in rows if r.record == "Baseline" and r.action == "Created")
    assert len(baseline.changes) > 4
    # One folded list per long entry, its values still in the page.
    assert f"<summary>{len(baseline.changes)} fields</summary>" in html
    folded = html.split('<details class="history-fields">')
    assert any("Pack-years" in part.split("</details>")[0] for part in folded[1:])
