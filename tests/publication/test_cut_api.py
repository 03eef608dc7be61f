"""Data cuts over the API: list, freeze, read, the kit; the dashboard's access rule (403)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from publication import services
from publication.models import DataCut
from registry.models import AuditEvent
from tests import people
from tests.api_support import assert_error

pytestmark = pytest.mark.django_db

CUTS = reverse("api:cuts")


@pytest.fixture(autouse=True)
def _study(small_study):
    return small_study


@pytest.fixture
def cut(db):
    return services.cut_freeze(user=people.pi_user(), name="Manuscript v1")


def test_pi_freezes_a_cut_over_the_api(api_pi):
    response = api_pi.post(CUTS, {"name": "Manuscript v1", "note": "submission"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    cut = DataCut.objects.get()
    assert body["id"] == cut.pk and body["name"] == "Manuscript v1"
    assert body["n_analysed"] == 5 and body["dataset_sha256"] == cut.dataset_sha256
    assert body["bundle"]["n_patients"] == 5
    assert len(body["locked_patients"]) == 5


def test_a_taken_name_is_409_naming_the_field(api_dm, cut):
    error = assert_error(
        api_dm.post(CUTS, {"name": "manuscript V1"}, format="json"), 409, "conflict", "name"
    )
    assert "exists already" in error["message"]
    assert DataCut.objects.count() == 1


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": 7}, {"name": "x" * 101}])
def test_a_missing_or_bad_name_is_400_naming_the_field(api_pi, body):
    assert_error(api_pi.post(CUTS, body, format="json"), 400, "invalid", "name")
    assert not DataCut.objects.exists()


def test_list_and_detail(api_admin, cut):
    listed = api_admin.get(CUTS).json()["results"]
    assert [c["name"] for c in listed] == ["Manuscript v1"]
    assert "bundle" not in listed[0]
    detail = api_admin.get(reverse("api:cut", args=[cut.pk])).json()
    assert detail["bundle"] == cut.bundle
    assert detail["plan_version"] == cut.plan_version


def test_the_kit_is_a_zip_and_its_download_is_audited(api_pi, cut):
    response = api_pi.get(reverse("api:cut-kit", args=[cut.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert f"data-cut-{cut.pk}-kit/expected.csv" in names
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CUT_DOWNLOAD).count() == 1


def test_an_unknown_cut_is_404(api_pi):
    assert_error(api_pi.get(reverse("api:cut", args=[999])), 404, "not_found")
    assert_error(api_pi.get(reverse("api:cut-kit", args=[999])), 404, "not_found")


@pytest.mark.parametrize("client", ["api_a", "api_investigator"])
def test_site_staff_are_refused_with_403(request, client, cut):
    api = request.getfixturevalue(client)
    for response in (
        api.get(CUTS),
        api.post(CUTS, {"name": "Mine"}, format="json"),
        api.get(reverse("api:cut", args=[cut.pk])),
        api.get(reverse("api:cut-kit", args=[cut.pk])),
    ):
        assert_error(response, 403, "forbidden")
    assert DataCut.objects.count() == 1
