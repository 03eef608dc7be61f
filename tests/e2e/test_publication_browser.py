"""Headless Chromium: the PI opens the Publication page on a phone-sized screen, sees the
figure previews, and downloads the manuscript pack as one ZIP."""

from __future__ import annotations

import io
import time
import zipfile

import pytest

from analytics import services
from analytics.models import AnalysisRun
from registry import services as registry_services
from tests.builders import build_casebook
from tests.e2e.support import ARTIFACTS, log_in
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_pi_downloads_the_manuscript_pack_from_the_publication_page(
    browser, live_server, pi_user, coordinator_a, data_manager
):
    services.plan_seed_demo()
    for _ in range(2):
        patient = build_casebook(coordinator_a, complete=True)
        registry_services.casebook_lock(
            user=data_manager,
            patient=patient,
            password=TEST_PASSWORD,
            meaning=registry_services.SIGNATURE_MEANING,
        )
    run = AnalysisRun.objects.filter(status="done").order_by("-pk").first()
    assert run is not None and run.n_analysed == 2

    context = browser.new_context(accept_downloads=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(60_000)
    log_in(page, live_server.url, pi_user.username)
    page.locator(".menu-toggle").click()  # a phone folds the navigation behind "Menu"
    page.get_by_role("link", name="Publication").click()
    page.wait_for_url("**/publication/pack/")
    assert f"analysis run #{run.pk}" in page.locator("#pack-source").inner_text()
    assert page.locator(".pack-figure img").count() >= 6
    # every preview loaded (an SVG the browser could not draw has no natural width)
    # (polled from here: wait_for_function evaluates a string, which the page's CSP forbids)
    images = page.locator(".pack-figure img")
    for i in range(images.count()):
        image = images.nth(i)
        image.scroll_into_view_if_needed()
        deadline = time.monotonic() + 30
        while not image.evaluate("i => i.complete && i.naturalWidth > 0"):
            assert time.monotonic() < deadline, f"figure {i} did not load"
            page.wait_for_timeout(200)
    assert page.locator("#table-3-adverse-events tbody tr").count() > 0
    # 390 px: nothing wider than the screen (tables scroll inside their own box)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "publication-390.png"), full_page=False)

    with page.expect_download() as download_info:
        page.click("#download-all")
    download = download_info.value
    assert download.suggested_filename == f"manuscript-pack-run-{run.pk}.zip"
    names = set(zipfile.ZipFile(io.BytesIO(download.path().read_bytes())).namelist())
    assert {
        "figures/figure-1a-km-os.svg",
        "figures/figure-1a-km-os.png",
        "figures/figure-1a-km-os.pdf",
        "figures/figure-3-forest.svg",
        "figures/figure-s3-flow.pdf",
        "tables/tables-and-methods.docx",
        "tables/tables.xlsx",
        "tables/table-2-cox.csv",
        "methods.txt",
    } <= names
    context.close()
