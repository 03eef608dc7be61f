"""Every patient page answers 404 to another centre, and a PI can read but not post.

The URL list covers every page that takes a patient; a page added without an
entry here is caught by ``test_every_patient_url_is_covered``.
"""

import pytest
from django.urls import get_resolver, reverse

from registry.models import AdverseEvent, Patient
from tests.builders import build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD, UserFactory
from tests.module_data import committed_for_module
from tests.registry.pages_support import alices_casebook, snapshot


def _urls(patient) -> dict[str, str]:
    sid = patient.study_id
    event = AdverseEvent.objects.get(patient=patient)
    return {
        "casebook": reverse("registry:casebook", args=[sid]),
        "history": reverse("registry:history", args=[sid]),
        "casebook_print": reverse("registry:casebook_print", args=[sid]),
        "casebook_print_css": reverse("registry:casebook_print_css", args=[sid]),
        "casebook_complete": reverse("registry:casebook_complete", args=[sid]),
        "sign": reverse("registry:sign", args=[sid]),
        "unlock": reverse("registry:unlock", args=[sid]),
        "section_complete": reverse("registry:section_complete", args=[sid, "baseline"]),
        "part_edit": reverse("registry:part_edit", args=[sid, "baseline"]),
        "part_edit_registration": reverse("registry:part_edit", args=[sid, "registration"]),
        "row_add": reverse("registry:row_add", args=[sid, "adverse_events"]),
        "row_edit": reverse("registry:row_edit", args=[sid, "adverse_events", event.pk]),
        "row_delete": reverse("registry:row_delete", args=[sid, "adverse_events", event.pk]),
        "adverse_events_none": reverse("registry:adverse_events_none", args=[sid]),
    }


PATIENT_PAGES = [
    "casebook",
    "history",
    "casebook_print",
    "casebook_print_css",
    "casebook_complete",
    "sign",
    "unlock",
    "section_complete",
    "part_edit",
    "part_edit_registration",
    "row_add",
    "row_edit",
    "row_delete",
    "adverse_events_none",
]
# POST-only endpoints answer GET with 405 before looking at the patient.
POST_ONLY = ("casebook_complete", "section_complete", "adverse_events_none")
GET_PAGES = [p for p in PATIENT_PAGES if p not in POST_ONLY]
# Pages that write CRF data (a PI must get 403 on POST).
CRF_POSTS = [
    "casebook_complete",
    "section_complete",
    "part_edit",
    "part_edit_registration",
    "row_add",
    "row_edit",
    "row_delete",
    "adverse_events_none",
]
# What a PI posts: a plausible form, so a refusal is about the role and not the data.
PI_POST_DATA = {"ecog": "3", "grade": "2", "reason": "PI edit", "version": "1", "confirmed": "1"}


@pytest.fixture(scope="module")
def patient_id(django_db_setup, django_db_blocker):
    """Alice's casebook, built once: every test here only reads it or is refused (its
    snapshot checks that nothing changed)."""
    yield from committed_for_module(django_db_blocker, alices_casebook)


@pytest.fixture
def patient(patient_id, db):
    return Patient.objects.get(pk=patient_id)


def test_every_patient_url_is_covered():
    names = {
        name
        for name in get_resolver().namespace_dict["registry"][1].reverse_dict
        if isinstance(name, str)
    }
    patient_names = {n for n in names if n not in {"patient_list", "patient_register"}}
    assert patient_names == {p.removesuffix("_registration") for p in PATIENT_PAGES}


@pytest.mark.parametrize("page", GET_PAGES)
def test_coordinator_of_other_centre_gets_404_on_get(page, client, coordinator_b, patient):
    client.force_login(coordinator_b)
    assert client.get(_urls(patient)[page]).status_code == 404


@pytest.mark.parametrize("page", PATIENT_PAGES)
def test_coordinator_of_other_centre_gets_404_on_post(page, client, coordinator_b, patient):
    client.force_login(coordinator_b)
    before = snapshot()
    response = client.post(_urls(patient)[page], {**PI_POST_DATA, "password": TEST_PASSWORD})
    assert response.status_code == 404
    assert snapshot() == before


@pytest.mark.parametrize("page", ["casebook", "history", "sign"])
def test_investigator_of_other_centre_gets_404(page, client, center_b, patient):
    investigator_b = UserFactory(username="ines", role="investigator", center=center_b)
    client.force_login(investigator_b)
    assert client.get(_urls(patient)[page]).status_code == 404


@pytest.mark.parametrize("page", CRF_POSTS)
def test_pi_cannot_post_crf_data(page, client, pi_user, patient):
    client.force_login(pi_user)
    before = snapshot()
    response = client.post(_urls(patient)[page], PI_POST_DATA)
    assert response.status_code == 403
    assert snapshot() == before


@pytest.mark.parametrize("page", ["part_edit", "row_add", "row_edit", "row_delete"])
def test_pi_cannot_open_crf_forms(page, client, pi_user, patient):
    client.force_login(pi_user)
    assert client.get(_urls(patient)[page]).status_code == 403


def test_pi_reads_casebook_without_edit_buttons(client, pi_user, patient):
    client.force_login(pi_user)
    response = client.get(_urls(patient)["casebook"])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Second-line therapy" in page
    assert "Mark part complete" not in page
    assert reverse("registry:part_edit", args=[patient.study_id, "baseline"]) not in page


def test_pi_cannot_sign(client, pi_user, coordinator_a):
    patient = build_casebook(coordinator_a, complete=True)
    client.force_login(pi_user)
    before = snapshot()
    response = client.post(
        _urls(patient)["sign"],
        {"password": TEST_PASSWORD, "meaning": "x", "confirm": "on"},
    )
    assert response.status_code == 403
    assert snapshot() == before


def test_pi_cannot_register_a_patient(client, pi_user, center_a):
    client.force_login(pi_user)
    assert client.get(reverse("registry:patient_register")).status_code == 403


@pytest.mark.parametrize("page", ["casebook_complete", "section_complete"])
def test_locked_casebook_refuses_workflow_posts_with_409(
    page, client, coordinator_a, investigator_a
):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    client.force_login(coordinator_a)
    before = snapshot()
    response = client.post(_urls(patient)[page])
    assert response.status_code == 409
    assert snapshot() == before


def test_anonymous_user_is_sent_to_login(client, patient):
    response = client.get(_urls(patient)["casebook"])
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
