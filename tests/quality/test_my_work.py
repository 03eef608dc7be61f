"""The "my work" page and its API: each role's lists, scoped by centre, counted and paged.

Built casebooks (tests.builders.build_casebook) have a last contact on 2022-01-10, alive:
older than the 91-day follow-up interval, so each is an overdue follow-up.
"""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from quality import services, verifications
from registry import services as registry_services
from registry.models import Baseline
from tests.builders import build_casebook, bulk_casebooks, register_patient
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

PAGE = reverse("quality:my_work")
API = "/api/v1/my-work/"


def counts(client) -> dict[str, int]:
    """The count badge of each tab, by list key."""
    page = client.get(PAGE).content.decode()
    found = re.findall(r'data-list="(\w+)".*?data-count="(\d+)"', page)
    return {key: int(n) for key, n in found}


def raise_on_weight(dm, patient):
    return services.query_raise(
        user=dm, patient=patient, section="baseline", field="weight_kg", text="Please check."
    )


# -- coordinators ----------------------------------------------------------------------------


def test_coordinator_sees_open_queries_of_own_centre_only(
    client, coordinator_a, coordinator_b, data_manager
):
    mine = raise_on_weight(data_manager, build_casebook(coordinator_a, complete=True))
    theirs = raise_on_weight(data_manager, build_casebook(coordinator_b, complete=True))
    client.force_login(coordinator_a)
    assert counts(client)["open_queries"] == 1
    page = client.get(PAGE, {"list": "open_queries"}).content.decode()
    assert reverse("quality:query_detail", args=[mine.pk]) in page
    assert reverse("quality:query_detail", args=[theirs.pk]) not in page


def test_answered_query_leaves_the_coordinators_list(client, coordinator_a, data_manager):
    query = raise_on_weight(data_manager, build_casebook(coordinator_a, complete=True))
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Checked.")
    client.force_login(coordinator_a)
    assert counts(client)["open_queries"] == 0


def test_incomplete_casebooks_name_the_parts_not_complete(client, coordinator_a, coordinator_b):
    patient = register_patient(coordinator_a)
    registry_services.section_mark_complete(
        user=coordinator_a, patient=patient, section="registration"
    )
    register_patient(coordinator_b)
    build_casebook(coordinator_a, complete=True)  # complete: not on the list
    client.force_login(coordinator_a)
    assert counts(client)["incomplete"] == 1
    page = client.get(PAGE, {"list": "incomplete"}).content.decode()
    assert patient.study_id in page
    assert "Baseline, First-line therapy, Tumour assessments" in page
    assert "Registration &amp; eligibility," not in page


def test_overdue_follow_ups_follow_the_study_setting(client, coordinator_a, settings):
    patient = build_casebook(coordinator_a)
    client.force_login(coordinator_a)
    assert counts(client)["overdue_follow_up"] == 1
    page = client.get(PAGE, {"list": "overdue_follow_up"}).content.decode()
    # The last contact as the locale writes dates (config/formats), never ISO on a page.
    assert patient.study_id in page and "10 Jan 2022" in page
    settings.QUALITY_FOLLOW_UP_INTERVAL_DAYS = 100_000  # nobody is overdue any more
    assert counts(client)["overdue_follow_up"] == 0


def test_dead_patient_is_not_an_overdue_follow_up(client, coordinator_a):
    patient = build_casebook(coordinator_a)
    registry_services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="follow_up",
        data={
            "contact_date": "2022-02-01",
            "vital_status": "dead",
            "progression_status": "progressed",
            "death_date": "2022-02-01",
            "death_cause": "progression",
        },
    )
    client.force_login(coordinator_a)
    assert counts(client)["overdue_follow_up"] == 0


# -- investigators ---------------------------------------------------------------------------


def test_investigator_sees_complete_casebooks_without_open_queries_to_sign(
    client, coordinator_a, coordinator_b, investigator_a, data_manager
):
    ready = build_casebook(coordinator_a, complete=True)
    questioned = build_casebook(coordinator_a, complete=True)
    raise_on_weight(data_manager, questioned)
    build_casebook(coordinator_a)  # not complete
    other = build_casebook(coordinator_b, complete=True)
    client.force_login(investigator_a)
    assert counts(client)["ready_to_sign"] == 1
    page = client.get(PAGE).content.decode()  # the first list with work is shown
    assert 'data-work="ready_to_sign"' in page
    assert ready.study_id in page
    assert questioned.study_id not in page and other.study_id not in page


def test_locked_casebook_is_not_ready_to_sign(client, coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    registry_services.casebook_lock(
        user=investigator_a,
        patient=patient,
        password=TEST_PASSWORD,
        meaning=registry_services.SIGNATURE_MEANING,
    )
    client.force_login(investigator_a)
    assert counts(client)["ready_to_sign"] == 0


# -- data managers ---------------------------------------------------------------------------


def test_data_manager_lists(client, coordinator_a, coordinator_b, data_manager):
    answered = raise_on_weight(data_manager, build_casebook(coordinator_a, complete=True))
    services.query_answer(user=coordinator_a, query_id=answered.pk, text="Checked.")
    raise_on_weight(data_manager, build_casebook(coordinator_b, complete=True))  # open
    ready = build_casebook(coordinator_b, complete=True)
    client.force_login(data_manager)
    found = counts(client)
    assert set(found) == {"answered_queries", "dropped_verifications", "ready_to_lock"}
    assert found["answered_queries"] == 1
    assert found["ready_to_lock"] == 1
    page = client.get(PAGE, {"list": "ready_to_lock"}).content.decode()
    assert ready.study_id in page


def test_dropped_verification_stays_until_verified_again(
    client, coordinator_a, data_manager, django_capture_on_commit_callbacks
):
    patient = build_casebook(coordinator_a)
    verifications.verification_mark(
        user=data_manager, patient=patient, section="baseline", fields=["weight_kg"]
    )
    baseline = Baseline.objects.get(patient=patient)
    with django_capture_on_commit_callbacks(execute=True):  # the drop follows the commit
        registry_services.crf_record_save(
            user=coordinator_a,
            patient=patient,
            section="baseline",
            data={"weight_kg": 66},
            expected_version=baseline.version,
        )
    client.force_login(data_manager)
    assert counts(client)["dropped_verifications"] == 1
    verifications.verification_mark(user=data_manager, patient=patient, section="baseline")
    assert counts(client)["dropped_verifications"] == 0


# -- scope, roles, errors --------------------------------------------------------------------


def test_site_staff_cannot_open_a_data_managers_list(client, coordinator_a):
    client.force_login(coordinator_a)
    assert client.get(PAGE, {"list": "answered_queries"}).status_code == 404
    assert client.get(PAGE, {"list": "nonsense"}).status_code == 404


def test_pi_has_no_lists_and_lands_on_the_patients(client, pi_user):
    client.force_login(pi_user)
    response = client.get(PAGE)
    assert response.status_code == 200
    assert counts(client) == {}
    assert client.get(reverse("quality:start")).url == reverse("registry:patient_list")


def test_login_lands_site_staff_on_my_work(client, coordinator_a):
    response = client.post(
        reverse("login"), {"username": coordinator_a.username, "password": TEST_PASSWORD}
    )
    assert response.url == reverse("quality:start")
    assert client.get(response.url).url == PAGE


def test_page_needs_a_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_header_links_my_work_for_every_signed_in_user(client, pi_user, coordinator_a):
    for user in (pi_user, coordinator_a):
        client.force_login(user)
        assert f'href="{PAGE}"' in client.get(reverse("registry:patient_list")).content.decode()


def test_list_is_paged(client, coordinator_a, center_a):
    bulk_casebooks(center_a, 27)
    client.force_login(coordinator_a)
    assert counts(client)["incomplete"] == 27
    first = client.get(PAGE, {"list": "incomplete"}).content.decode()
    assert "Page 1 of 2" in first
    second = client.get(PAGE, {"list": "incomplete", "page": 2}).content.decode()
    assert "Page 2 of 2" in second
    assert 'href="?list=incomplete&amp;page=1"' in second


def test_queries_do_not_grow_with_the_cohort(client, coordinator_a, center_a):
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(PAGE, {"list": "incomplete"}).status_code == 200
        return len(ctx.captured_queries)

    client.force_login(coordinator_a)
    bulk_casebooks(center_a, 3, seed=1)
    few = queries_for_page()
    bulk_casebooks(center_a, 20, seed=2)
    assert queries_for_page() == few


# -- API -------------------------------------------------------------------------------------


def test_api_counts_are_scoped_by_centre(api_a, api_b, coordinator_a, data_manager):
    raise_on_weight(data_manager, build_casebook(coordinator_a, complete=True))
    mine = {row["key"]: row for row in api_a.get(API).json()["lists"]}
    assert mine["open_queries"]["count"] == 1
    assert mine["open_queries"]["url"] == f"{PAGE}?list=open_queries"
    theirs = {row["key"]: row["count"] for row in api_b.get(API).json()["lists"]}
    assert theirs["open_queries"] == 0


def test_api_data_manager_lists(api_dm, coordinator_a, data_manager):
    query = raise_on_weight(data_manager, build_casebook(coordinator_a, complete=True))
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Checked.")
    body = api_dm.get(API).json()
    assert [row["key"] for row in body["lists"]] == [
        "answered_queries",
        "dropped_verifications",
        "ready_to_lock",
    ]
    assert body["lists"][0]["count"] == 1


def test_api_needs_authentication():
    assert APIClient().get(API).status_code == 401
