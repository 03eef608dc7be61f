"""The data-cut pages: list and freeze form, one cut with its downloads, two compared."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from django.urls import reverse

from publication import services
from publication.models import DataCut
from registry.models import AuditEvent, Patient
from tests import people

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _study(small_study):
    return small_study


@pytest.fixture
def cut(db):
    return services.cut_freeze(user=people.pi_user(), name="Manuscript v1", note="first")


def signed_in(client, user):
    client.force_login(user)
    return client


def test_pi_freezes_a_cut_from_the_list_page(client):
    signed_in(client, people.pi_user())
    response = client.post(
        reverse("publication:cut_list"), {"name": "Manuscript v1", "note": "submission"}
    )
    cut = DataCut.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("publication:cut_detail", args=[cut.pk])
    assert (cut.n_analysed, cut.note, cut.created_by.username) == (5, "submission", "petra")


def test_the_list_shows_name_date_author_patients_and_hash(client, cut):
    response = signed_in(client, people.data_manager()).get(reverse("publication:cut_list"))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Manuscript v1" in text and "petra" in text
    assert cut.dataset_sha256[:12] in text
    assert "<td>5</td>" in text


def test_a_taken_name_is_refused_on_the_form_and_nothing_is_frozen(client, cut):
    signed_in(client, people.pi_user())
    response = client.post(reverse("publication:cut_list"), {"name": "MANUSCRIPT v1"})
    assert response.status_code == 200
    assert "exists already" in response.content.decode()
    assert DataCut.objects.count() == 1


def test_detail_shows_the_summary_and_the_downloads(client, cut):
    response = signed_in(client, people.pi_user()).get(
        reverse("publication:cut_detail", args=[cut.pk])
    )
    text = response.content.decode()
    assert cut.dataset_sha256 in text
    assert "Overall survival" in text
    for name in ("cut_bundle", "cut_patients_csv", "cut_adverse_events_csv", "cut_kit"):
        assert reverse(f"publication:{name}", args=[cut.pk]) in text


def test_the_kit_download_is_a_zip_with_the_script_and_is_audited(client, cut):
    response = signed_in(client, people.pi_user()).get(
        reverse("publication:cut_kit", args=[cut.pk])
    )
    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert f"data-cut-{cut.pk}-kit/reproduce.R" in names
    event = AuditEvent.objects.get(action=AuditEvent.Action.CUT_DOWNLOAD)
    assert event.detail == {"cut": cut.pk, "name": cut.name, "file": "kit.zip"}


def test_the_bundle_download_is_the_frozen_bundle(client, cut):
    response = signed_in(client, people.admin_user()).get(
        reverse("publication:cut_bundle", args=[cut.pk])
    )
    assert json.loads(response.content) == cut.bundle


def test_the_table_downloads_are_de_identified(client, cut):
    signed_in(client, people.pi_user())
    text = client.get(reverse("publication:cut_patients_csv", args=[cut.pk])).content.decode()
    assert text.splitlines()[0].startswith("study_id,center,age_years")
    assert len(text.splitlines()) == 6
    for study_id in Patient.objects.values_list("study_id", flat=True):
        assert study_id not in text


def test_comparing_a_cut_with_itself_shows_nothing_moved(client, cut):
    response = signed_in(client, people.pi_user()).get(
        reverse("publication:cut_compare"), {"a": cut.pk, "b": cut.pk}
    )
    text = response.content.decode()
    assert "Both cuts hold the same data." in text
    assert "No number moved." in text


@pytest.mark.parametrize("maker", [people.coordinator_a, people.investigator_a])
def test_site_staff_get_404_on_every_cut_page(client, cut, maker):
    signed_in(client, maker(people.center_a()))
    for url in (
        reverse("publication:cut_list"),
        reverse("publication:cut_detail", args=[cut.pk]),
        reverse("publication:cut_bundle", args=[cut.pk]),
        reverse("publication:cut_patients_csv", args=[cut.pk]),
        reverse("publication:cut_kit", args=[cut.pk]),
        reverse("publication:cut_compare") + f"?a={cut.pk}&b={cut.pk}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("publication:cut_list"), {"name": "x"}).status_code == 404
    assert DataCut.objects.count() == 1
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CUT_DOWNLOAD).exists()


def test_an_unknown_cut_is_404(client):
    signed_in(client, people.pi_user())
    assert client.get(reverse("publication:cut_detail", args=[999])).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, cut):
    response = client.get(reverse("publication:cut_detail", args=[cut.pk]))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_median_ci_below_zero_is_shown_clipped_with_a_footnote(client, cut):
    from publication.views.cuts import _summary

    bundle = {"km": {"os": {"label": "OS", "n": 5, "events": 3, "median": 2.0, "ci": [-1.2, 5.0]}}}
    summary = _summary(bundle)
    assert summary["km"][0]["ci"] == [0.0, 5.0] and summary["clipped"]
    page = signed_in(client, people.pi_user()).get(reverse("publication:cut_detail", args=[cut.pk]))
    lower = cut.bundle["km"]["os"]["ci"][0]
    assert ("shown clipped at 0" in page.content.decode()) == (lower is not None and lower < 0)


@pytest.mark.parametrize("query", [{"a": "999", "b": "1"}, {"a": "abc", "b": ""}])
def test_comparing_an_unknown_cut_shows_the_form_error(client, cut, query):
    response = signed_in(client, people.pi_user()).get(reverse("publication:cut_compare"), query)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode() or "required" in (
        response.content.decode()
    )
    assert "Numbers that moved" not in response.content.decode()
