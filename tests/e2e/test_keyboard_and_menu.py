"""Keyboard and phone header in headless Chromium: the skip link comes first and shows when
focused, focus is visible, and the phone menu opens and says so to screen readers."""

from __future__ import annotations

import pytest

from tests.e2e.support import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FOCUSED = """() => {
  const el = document.activeElement;
  const box = el.getBoundingClientRect();
  const style = getComputedStyle(el);
  return {cls: el.className, top: box.top, outline: style.outlineStyle,
          text: el.textContent.trim()};
}"""


def test_skip_link_focus_ring_and_phone_menu(browser, live_server, coordinator_a):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        log_in(page, live_server.url, coordinator_a.username)
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        assert focused["cls"] == "skip-link" and focused["text"] == "Skip to main content"
        assert focused["top"] >= 0  # moved on screen when focused
        assert focused["outline"] != "none"
        page.keyboard.press("Enter")
        assert page.evaluate("() => document.activeElement.id") == "main"

        toggle = page.locator(".menu-toggle")
        assert toggle.get_attribute("aria-expanded") == "false"
        assert page.locator("nav.mainnav").is_hidden()
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
        assert page.get_by_role("link", name="Exports").is_visible()
        header = page.evaluate("() => document.querySelector('header.topbar').offsetHeight")
        page.set_viewport_size({"width": 1280, "height": 900})
        assert page.locator(".menu-toggle").is_hidden()  # a desktop shows the whole bar
        assert page.locator("nav.mainnav").is_visible()
        assert header > 60  # the open menu made the bar taller on the phone
    finally:
        context.close()
