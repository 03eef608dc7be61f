"""Headless Chromium: the PI's dashboard updates itself when a casebook is locked elsewhere."""

from __future__ import annotations

import pytest

from analytics import services
from registry import services as registry_services
from tests.builders import build_casebook
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The browser drew the image: its URL answered with an SVG the browser could read.
DRAWN = "img => img.complete && img.naturalWidth > 0"


def _figure(page, selector: str) -> tuple[str, bool]:
    """The figure's URL and whether the browser has drawn it, waiting for it up to 20 s."""
    image = page.locator(f"{selector} img")
    for _ in range(80):
        if image.evaluate(DRAWN):
            break
        page.wait_for_timeout(250)
    return image.get_attribute("src"), image.evaluate(DRAWN)


def test_pi_dashboard_shows_a_new_run_without_reloading(
    browser, live_server, pi_user, coordinator_a, data_manager, settings, tmp_path
):
    settings.ANALYTICS_FIGURE_ROOT = tmp_path / "figures"
    services.plan_seed_demo()
    first = build_casebook(coordinator_a, complete=True)
    second = build_casebook(coordinator_a, complete=True)
    meaning = registry_services.SIGNATURE_MEANING
    registry_services.casebook_lock(
        user=data_manager, patient=first, password=TEST_PASSWORD, meaning=meaning
    )

    # The session's one Chromium (tests/e2e/conftest.py): a second Playwright in the same
    # thread would clash with its event loop.
    page = browser.new_page()
    page.goto(f"{live_server.url}/login/?next=/analytics/")
    page.fill("#id_username", pi_user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/analytics/")
    first_os, drawn = _figure(page, "#km-os")
    assert drawn and "/figures/en-gb/km-os.svg" in first_os
    assert _figure(page, "#km-pfs")[1]
    assert page.locator("#km-os img").get_attribute("alt").startswith("Kaplan–Meier curve of")
    assert page.locator("#table1 tbody tr").count() > 0
    assert page.locator("#ae-table tbody tr").count() > 0
    assert "1 of 2" in page.locator(".headline").inner_text()
    page.evaluate("window.__sameDocument = true")

    # The data manager locks the second casebook (another session); without a worker the
    # run computes at commit, and the PI's page must notice it by polling.
    registry_services.casebook_lock(
        user=data_manager, patient=second, password=TEST_PASSWORD, meaning=meaning
    )
    # A locator wait, not wait_for_function: the page's CSP forbids the eval that one uses.
    page.locator(".headline", has_text="2 of 2").wait_for(timeout=20000)
    assert page.evaluate("window.__sameDocument === true")
    assert "1 casebook locked" in page.locator(".changes").inner_text()
    # The new run's figures, under new URLs, drawn in the swapped-in body.
    new_os, drawn = _figure(page, "#km-os")
    assert drawn and new_os != first_os
