"""The centre patient list: scope, search, status filter, completeness, pages."""

from django.urls import reverse

from registry import services
from tests import builders
from tests.builders import build_casebook, register_patient

LIST = reverse("registry:patient_list")


def _ids(response) -> list[str]:
    return [p.study_id for p in response.context["page"].object_list]


def test_coordinator_sees_only_own_centre(client, coordinator_a, coordinator_b):
    register_patient(coordinator_a)
    register_patient(coordinator_b)
    client.force_login(coordinator_a)
    response = client.get(LIST)
    assert response.status_code == 200
    assert _ids(response) == ["AAA-0001"]
    assert "BBB-0001" not in response.content.decode()


def test_data_manager_sees_all_centres(client, coordinator_a, coordinator_b, data_manager):
    register_patient(coordinator_a)
    register_patient(coordinator_b)
    client.force_login(data_manager)
    assert _ids(client.get(LIST)) == ["AAA-0001", "BBB-0001"]


def test_coordinator_finds_a_patient_by_mrn(client, coordinator_a):
    register_patient(coordinator_a, mrn="H-1234")
    register_patient(coordinator_a, mrn="H-9999")
    client.force_login(coordinator_a)
    assert _ids(client.get(LIST, {"q": "h-1234"})) == ["AAA-0001"]


def test_data_manager_cannot_search_or_see_identifiers(client, coordinator_a, data_manager):
    register_patient(coordinator_a, mrn="H-1234")
    client.force_login(data_manager)
    response = client.get(LIST, {"q": "H-1234"})
    assert _ids(response) == []
    assert "H-1234" not in client.get(LIST).content.decode()


def test_search_by_study_id(client, coordinator_a):
    for _ in range(3):
        register_patient(coordinator_a)
    client.force_login(coordinator_a)
    assert _ids(client.get(LIST, {"q": "0002"})) == ["AAA-0002"]


def test_filter_screen_failures(client, coordinator_a):
    register_patient(coordinator_a)
    register_patient(coordinator_a, exc_autoimmune_disease=True)
    client.force_login(coordinator_a)
    assert _ids(client.get(LIST, {"status": "screen_failure"})) == ["AAA-0002"]
    assert _ids(client.get(LIST, {"status": "enrolled"})) == ["AAA-0001"]


def test_filter_complete_casebooks(client, coordinator_a):
    build_casebook(coordinator_a, complete=True)
    build_casebook(coordinator_a)
    client.force_login(coordinator_a)
    assert _ids(client.get(LIST, {"status": "complete"})) == ["AAA-0001"]
    assert _ids(client.get(LIST, {"status": "in_progress"})) == ["AAA-0002"]


def test_completeness_counts_parts_marked_complete(client, coordinator_a):
    patient = register_patient(coordinator_a)
    services.crf_record_save(
        user=coordinator_a, patient=patient, section="baseline", data=builders.baseline()
    )
    for section in ("registration", "baseline"):
        services.section_mark_complete(user=coordinator_a, patient=patient, section=section)
    client.force_login(coordinator_a)
    response = client.get(LIST)
    assert response.context["page"].object_list[0].parts_complete == 2
    assert "2/7" in response.content.decode()


def test_list_is_paginated_by_25(client, coordinator_a):
    for _ in range(26):
        register_patient(coordinator_a)
    client.force_login(coordinator_a)
    first = client.get(LIST)
    assert len(first.context["page"].object_list) == 25
    assert _ids(client.get(LIST, {"page": 2})) == ["AAA-0026"]


def test_pi_sees_no_register_button(client, pi_user):
    client.force_login(pi_user)
    assert reverse("registry:patient_register") not in client.get(LIST).content.decode()
