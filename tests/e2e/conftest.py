"""Fixtures of the browser tests: headless Chromium (Debian's /usr/bin/chromium) and a page
whose last screen is kept in test-artifacts/. Without Chromium or Playwright a test is
skipped locally and fails in CI (REQUIRE_SERVICES=1)."""

from __future__ import annotations

import os

import pytest

from tests.conftest import service_missing
from tests.e2e.support import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="session")
def browser():
    # One Chromium for the whole session: starting it costs seconds on a small machine.
    # Playwright's sync API keeps an asyncio loop running in this thread, which makes
    # Django refuse ORM calls from the test body; they are in fact plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    if not os.path.exists(CHROMIUM):
        service_missing("Chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("Playwright for Python")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as error:  # noqa: BLE001 - any launch failure means no browser
            service_missing(f"Chromium ({error})")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()
