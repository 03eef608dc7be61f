"""Headless Chromium: the PI's dashboard updates itself when a casebook is locked elsewhere."""

from __future__ import annotations

import shutil

import pytest

from analytics import services
from registry import services as registry_services
from tests.builders import build_casebook
from tests.conftest import service_missing
from tests.e2e.support import CHROMIUM, CHROMIUM_ARGS
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def browser(monkeypatch):
    if not shutil.which(CHROMIUM):
        service_missing("Chromium")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # (building and locking casebooks) are ordinary synchronous calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_pi_dashboard_shows_a_new_run_without_reloading(
    browser, live_server, pi_user, coordinator_a, data_manager
):
    services.plan_seed_demo()
    first = build_casebook(coordinator_a, complete=True)
    second = build_casebook(coordinator_a, complete=True)
    meaning = registry_services.SIGNATURE_MEANING
    registry_services.casebook_lock(
        user=data_manager, patient=first, password=TEST_PASSWORD, meaning=meaning
    )

    page = browser.new_page()
    page.goto(f"{live_server.url}/login/?next=/analytics/")
    page.fill("#id_username", pi_user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/analytics/")
    assert page.locator("#km-os svg").count() == 1
    assert page.locator("#km-pfs svg").count() == 1
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
