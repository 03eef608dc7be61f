"""The centre patient list: scope, search, status filter, completeness, pages."""

from datetime import date

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


def test_coordinator_finds_a_patient_by_part_of_the_mrn(client, coordinator_a, coordinator_b):
    register_patient(coordinator_a, mrn="H-1234")
    register_patient(coordinator_a, mrn="H-9999")
    register_patient(coordinator_b, mrn="H-1235")  # another centre's: never found
    client.force_login(coordinator_a)
    assert _ids(client.get(LIST, {"q": "123"})) == ["AAA-0001"]


def test_data_manager_cannot_find_by_part_of_an_mrn(client, coordinator_a, data_manager):
    register_patient(coordinator_a, mrn="H-1234")
    client.force_login(data_manager)
    assert _ids(client.get(LIST, {"q": "123"})) == []


def test_list_sorts_by_registration_date_both_ways(client, coordinator_a):
    register_patient(coordinator_a, registration_date=date(2021, 3, 5))
    register_patient(coordinator_a, registration_date=date(2021, 3, 2))
    register_patient(coordinator_a, registration_date=date(2021, 3, 9))
    client.force_login(coordinator_a)
    assert _ids(client.get(LIST, {"sort": "registered"})) == ["AAA-0002", "AAA-0001", "AAA-0003"]
    response = client.get(LIST, {"sort": "-registered"})
    assert _ids(response) == ["AAA-0003", "AAA-0001", "AAA-0002"]
    html = response.content.decode()
    assert 'aria-sort="descending"><a href="?sort=registered">' in html


def test_list_sorts_by_completeness(client, coordinator_a):
    register_patient(coordinator_a)
    build_casebook(coordinator_a, complete=True)
    client.force_login(coordinator_a)
    assert _ids(client.get(LIST, {"sort": "-completeness"})) == ["AAA-0002", "AAA-0001"]


def test_unknown_sort_falls_back_to_study_id(client, coordinator_a):
    register_patient(coordinator_a)
    register_patient(coordinator_a)
    client.force_login(coordinator_a)
    response = client.get(LIST, {"sort": "mrn"})
    assert response.status_code == 200
    assert _ids(response) == ["AAA-0001", "AAA-0002"]


def test_data_manager_filters_by_centre(client, coordinator_a, coordinator_b, data_manager):
    register_patient(coordinator_a)
    register_patient(coordinator_b)
    client.force_login(data_manager)
    center_b = coordinator_b.center
    response = client.get(LIST, {"center": center_b.pk})
    assert _ids(response) == ["BBB-0001"]
    assert 'name="center"' in response.content.decode()


def test_site_staff_get_no_centre_filter(client, coordinator_a, coordinator_b):
    register_patient(coordinator_a)
    register_patient(coordinator_b)
    client.force_login(coordinator_a)
    response = client.get(LIST, {"center": coordinator_b.center.pk})
    assert 'name="center"' not in response.content.decode()
    assert _ids(response) == ["AAA-0001"]


def test_unknown_centre_is_named_in_the_error(client, coordinator_a, data_manager):
    register_patient(coordinator_a)
    client.force_login(data_manager)
    response = client.get(LIST, {"center": "99999"})
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
