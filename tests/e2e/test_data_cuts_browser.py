"""Data cuts in real headless Chromium on a phone (390 px): the PI freezes the locked data,
opens the cut, downloads its reproduction kit and compares two cuts; no page scrolls
sideways."""

from __future__ import annotations

import zipfile

import pytest

from analytics import services as analytics_services
from publication import services
from publication.models import DataCut
from tests.builders import bulk_casebooks
from tests.e2e.support import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_pi_freezes_a_cut_downloads_its_kit_and_compares_on_a_phone(
    page, live_server, center_a, pi_user, tmp_path
):
    base = live_server.url
    analytics_services.plan_seed_demo()
    bulk_casebooks(center_a, 4, lock=True, seed=5)
    services.cut_freeze(user=pi_user, name="Interim", note="interim look")

    page.set_viewport_size(PHONE)
    log_in(page, base, pi_user.username)
    page.goto(f"{base}/publication/cuts/")
    assert fits(page)
    page.fill("#id_name", "Manuscript v1")
    page.fill("#id_note", "submission")
    page.get_by_role("button", name="Freeze").click()
    cut = DataCut.objects.get(name="Manuscript v1")
    page.wait_for_url(f"{base}/publication/cuts/{cut.pk}/")
    assert cut.dataset_sha256 in page.content()
    assert fits(page)
    page.screenshot(path=str(ARTIFACTS / "data_cut_390.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Reproduction kit (ZIP)", exact=False).click()
    path = tmp_path / "kit.zip"
    download.value.save_as(path)
    assert f"data-cut-{cut.pk}-kit/reproduce.R" in zipfile.ZipFile(path).namelist()

    interim = DataCut.objects.get(name="Interim")
    page.goto(f"{base}/publication/cuts/compare/?a={interim.pk}&b={cut.pk}")
    assert "Both cuts hold the same data." in page.content()
    assert fits(page)
