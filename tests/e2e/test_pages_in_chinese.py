"""The registry's own pages in Simplified Chinese on a phone (390 × 844): the same checks as
the every-page walk (no sideways scroll, compact header, axe) with the users' saved language
set to zh-hans, and no English heading or button of those pages left on screen."""

from __future__ import annotations

import pytest

from tests.e2e.pages import PAGES
from tests.e2e.support import log_in
from tests.e2e.test_every_page import AXE_PATH, PHONE, build_study, check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The pages of the registry itself (patients, casebook, workflow, audit, account); the other
# apps' pages are walked in Chinese by their own tests.
REGISTRY_PATHS = ("/", "/patients/", "/audit/", "/profile/", "/account/")
# English words of those pages' headings and buttons that must not survive translation.
ENGLISH = ("Patients", "Casebook", "History", "Derived values", "Sign and lock", "Cancel")
# The columns a phone must keep on screen are found by their (translated) labels.
CHINESE_LABELS = {
    "data-label=Status": "data-label=状态",
    "data-label=Completeness": "data-label=完成度",
}
VISIBLE_TEXT = """() => [...document.querySelectorAll("h1, h2, button, th, legend")]
  .filter(el => el.offsetParent !== null).map(el => el.textContent.trim()).join(" | ")"""


def _registry_page(path: str) -> bool:
    return path == "/" or path.startswith(REGISTRY_PATHS[1:])


def _in_chinese(selector: str) -> str:
    for english, chinese in CHINESE_LABELS.items():
        selector = selector.replace(english, chinese)
    return selector


def test_registry_pages_in_chinese_fit_a_phone(browser, live_server):
    ids, users = build_study()
    base = live_server.url
    problems: list[str] = []
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    context.add_init_script(path=str(AXE_PATH))
    try:
        page = context.new_page()
        page.set_default_navigation_timeout(90_000)
        for role in ("coordinator", "investigator", "data_manager"):
            user = users[role]
            user.language = "zh-hans"
            user.save(update_fields=["language"])
            context.clear_cookies()
            log_in(page, base, user.username)
            for shown in PAGES:
                if role not in shown.roles or not _registry_page(shown.path):
                    continue
                url = base + shown.path.format(**vars(ids))
                label = f"{shown.name} as {role} in Chinese"
                on_screen = tuple(_in_chinese(selector) for selector in shown.on_screen)
                problems += check(page, url, label, on_screen)
                if page.evaluate("() => document.documentElement.lang") != "zh-hans":
                    problems.append(f"{label}: not in Chinese")
                text = page.evaluate(VISIBLE_TEXT)
                problems += [f"{label}: English {word!r}" for word in ENGLISH if word in text]
    finally:
        context.close()
    assert not problems, "\n".join(problems)
