"""The manuscript pack of a named data cut: drawn from what the cut froze (tables, flow,
treatment), on the Publication page, as a ZIP (audited) and by ``publication_pack --cut``;
unchanged by locks that come after the freeze."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from analytics import services as analytics_services
from publication import services
from registry.models import AuditEvent
from tests import people
from tests.builders import bulk_casebooks

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _study(small_study):
    return small_study


@pytest.fixture
def cut(db):
    return services.cut_freeze(user=people.pi_user(), name="Manuscript v1")


def test_the_cut_froze_the_flow_and_the_treatment_durations(cut):
    assert (cut.flow["registered"], cut.flow["locked"]) == (5, 5)
    treatment = cut.treatment_csv.splitlines()
    assert treatment[0] == "study_id,months,ongoing" and len(treatment) == 6
    inputs = services.cut_manuscript_inputs(cut)
    assert (inputs["label"], inputs["dataset_sha256"]) == ("Manuscript v1", cut.dataset_sha256)
    assert inputs["tables"].sha256() == cut.dataset_sha256
    assert inputs["treatment"]["ongoing"].dtype == bool


def test_the_page_shows_the_cuts_pack_and_lists_the_cuts(client, cut):
    client.force_login(people.pi_user())
    page = client.get(reverse("publication:cut_pack", args=[cut.pk])).content.decode()
    assert "Figures and tables of the data cut “Manuscript v1”" in page
    assert reverse("publication:cut_pack_zip", args=[cut.pk]) in page
    assert f"/publication/cuts/{cut.pk}/pack/files/figures/" in page
    latest = client.get(reverse("publication:pack")).content.decode()
    assert reverse("publication:cut_pack", args=[cut.pk]) in latest  # the list of cuts


def test_the_zip_of_a_cut_is_its_frozen_data_whatever_was_locked_since(client, cut):
    client.force_login(people.pi_user())
    url = reverse("publication:cut_pack_zip", args=[cut.pk])
    first = client.get(url)
    assert first["Content-Disposition"] == (
        f'attachment; filename="manuscript-pack-cut-{cut.pk}.zip"'
    )
    names = zipfile.ZipFile(io.BytesIO(first.content)).namelist()
    assert {"methods.txt", "tables/tables-and-methods.docx"} <= set(names)
    flow_svg = zipfile.ZipFile(io.BytesIO(first.content)).read(
        next(n for n in names if "flow" in n and n.endswith(".svg"))
    )
    bulk_casebooks(people.center_a(), 3, lock=True, seed=9)  # after the freeze
    cache.clear()
    again = zipfile.ZipFile(io.BytesIO(client.get(url).content))
    assert again.read(next(n for n in names if "flow" in n and n.endswith(".svg"))) == flow_svg
    assert (
        AuditEvent.objects.filter(action=AuditEvent.Action.CUT_DOWNLOAD, detail__file="pack")
        .filter(detail__cut=cut.pk)
        .count()
        == 2
    )


@pytest.mark.parametrize("role", ["coordinator_a", "investigator_a"])
def test_site_staff_get_404_for_a_cuts_pack(client, request, role, cut):
    client.force_login(request.getfixturevalue(role))
    for name in ("cut_pack", "cut_pack_zip"):
        assert client.get(reverse(f"publication:{name}", args=[cut.pk])).status_code == 404
    file_url = reverse("publication:cut_pack_file", args=[cut.pk, "methods.txt"])
    assert client.get(file_url).status_code == 404
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CUT_DOWNLOAD).exists()


def test_an_unknown_cut_is_404(client, cut):
    client.force_login(people.pi_user())
    assert client.get(reverse("publication:cut_pack", args=[cut.pk + 99])).status_code == 404


def test_the_command_writes_a_cuts_pack_and_names_an_unknown_cut(tmp_path, cut, capsys):
    call_command("publication_pack", "--out", str(tmp_path), "--cut", "manuscript V1")
    out = capsys.readouterr().out
    assert "Source: data cut Manuscript v1" in out
    written = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()}
    assert "methods.txt" in written and any(n.startswith("figures/") for n in written)
    with pytest.raises(CommandError, match="--cut: no data cut is named 'v2'"):
        call_command("publication_pack", "--out", str(tmp_path), "--cut", "v2")


def test_a_plan_with_every_option_at_its_default_can_be_frozen(db):
    """An empty plan, {}, is a valid one (schemathesis saved one, and the freeze answered 500)."""
    analytics_services.plan_create(user=people.pi_user(), plan={}, note="defaults")
    cut = services.cut_freeze(user=people.pi_user(), name="Defaults")
    assert cut.plan == {} and cut.n_analysed == 5
