"""The header's language switcher on a phone (390 × 844) in headless Chromium: visible with
the menu closed, nothing scrolls sideways in either language, and one tap turns the pages
into Chinese and back (core/language.py)."""

from __future__ import annotations

import pytest

from tests.e2e.support import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
MEASURE = """() => {
  const bar = document.querySelector("header.topbar").getBoundingClientRect();
  const button = document.querySelector(".language-switch button").getBoundingClientRect();
  return {scrollWidth: document.documentElement.scrollWidth, header: bar.height,
          buttonRight: button.right, buttonTop: button.top, buttonBottom: button.bottom,
          lang: document.documentElement.lang};
}"""


def _fits(page) -> dict:
    measured = page.evaluate(MEASURE)
    assert measured["scrollWidth"] <= PHONE["width"], measured
    assert measured["buttonRight"] <= PHONE["width"], measured
    # On the compact header's first line, beside the brand: no menu to open first.
    assert measured["buttonBottom"] <= 120, measured
    return measured


def test_phone_switcher_signed_in(browser, live_server, coordinator_a):
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        page = context.new_page()
        log_in(page, live_server.url, coordinator_a.username)
        assert page.locator("nav.mainnav").is_hidden()  # the menu is folded
        switch = page.locator(".language-switch button")
        assert switch.is_visible() and switch.inner_text() == "简体中文"
        assert _fits(page)["lang"] == "en-gb"

        switch.click()
        page.wait_for_load_state()
        measured = _fits(page)
        assert measured["lang"] == "zh-hans"
        assert page.locator("h1").first.inner_text() == "患者"
        assert page.locator(".menu-toggle").inner_text() == "菜单"
        coordinator_a.refresh_from_db()
        assert coordinator_a.language == "zh-hans"

        page.locator(".language-switch button").click()
        page.wait_for_load_state()
        assert _fits(page)["lang"] == "en-gb"
        assert page.locator("h1").first.inner_text() == "Patients"
    finally:
        context.close()


def test_phone_switcher_before_signing_in(browser, live_server, db):
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/login/")
        _fits(page)
        page.locator(".language-switch button").click()
        page.wait_for_url(f"{live_server.url}/login/")
        assert _fits(page)["lang"] == "zh-hans"
        assert page.locator("h1").inner_text() == "登录"
        assert page.get_by_label("用户名").is_visible()
    finally:
        context.close()
