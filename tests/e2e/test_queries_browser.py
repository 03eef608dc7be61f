"""A data query from question to lock, in real headless Chromium.

A data manager raises a query on the baseline weight from the casebook page, the site
coordinator sees the marker and answers with a correction (65 → 56 kg), the data manager
closes it, and the investigator locks the casebook (the correction made it "in progress"
again, so it is marked complete first). On the way, the query detail page is drawn 390 px
wide (a phone) and must not scroll sideways; its screenshot is kept.
"""

from __future__ import annotations

import re

import pytest

from quality import services
from quality.models import Query
from registry.models import Baseline, Patient
from tests.builders import build_casebook
from tests.e2e.support import ARTIFACTS, log_in, log_out
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
# Where the phone-width screenshot of the query detail page is kept.
PHONE_SCREENSHOT = ARTIFACTS / "query_detail_390.png"


def scroll_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def test_query_raised_answered_with_a_correction_closed_then_casebook_locked(
    page, live_server, coordinator_a, investigator_a, data_manager
):
    base = live_server.url
    patient = build_casebook(coordinator_a, complete=True)
    casebook = f"{base}/patients/{patient.study_id}/"
    weight = '#baseline [data-field="weight_kg"]'

    # The data manager raises a query on the weight from the casebook page.
    log_in(page, base, "dora")
    page.goto(casebook)
    page.locator(f"{weight} a.qraise").click()
    page.wait_for_url(re.compile(r".*/quality/queries/new/\?.*field=weight_kg"))
    assert page.locator("#current-value").inner_text() == "65.0"
    page.fill('[name="text"]', "65 kg at baseline? The chart says 56.")
    page.get_by_role("button", name="Raise query").click()
    page.wait_for_url(f"{casebook}#baseline")
    query = Query.objects.get()
    assert (query.section, query.field, query.status) == ("baseline", "weight_kg", "open")
    log_out(page, base)

    # The coordinator sees the marker and answers with a corrected value.
    log_in(page, base, "alice")
    page.goto(casebook)
    assert page.locator("#casebook-queries").inner_text() == "1 unresolved query"
    page.locator(f"{weight} a.qmark").click()
    page.wait_for_url(f"{base}/quality/queries/{query.pk}/")
    value = page.locator('[name="answer-value"]')
    assert value.is_hidden()  # shown once "correct the value" is ticked
    page.check('[name="answer-correct"]')
    assert value.input_value() == "65.0"
    value.fill("56")
    page.fill('[name="answer-text"]', "Typed 65 for 56; corrected.")
    page.get_by_role("button", name="Send answer").click()
    page.locator(".flash-success").wait_for()
    assert page.locator(".correction").inner_text() == "Corrected: 65.0 → 56.0"
    assert Baseline.objects.get(patient=patient).weight_kg == 56
    log_out(page, base)

    # The data manager finds it in the list, reads it on a phone, and closes it.
    log_in(page, base, "dora")
    page.get_by_role("link", name="Queries", exact=True).click()
    page.get_by_role("link", name=f"#{query.pk}").click()
    page.wait_for_url(f"{base}/quality/queries/{query.pk}/")
    page.set_viewport_size(PHONE)
    page.reload()
    assert scroll_width(page) <= PHONE["width"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(PHONE_SCREENSHOT), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.fill('[name="close-text"]', "Correction accepted.")
    page.get_by_role("button", name="Close query").click()
    page.locator(".flash-success").wait_for()
    assert Query.objects.get().status == "closed"
    log_out(page, base)

    # The investigator completes the casebook again and locks it.
    log_in(page, base, "ivan")
    page.goto(casebook)
    assert page.locator("#casebook-queries").inner_text() == "No unresolved queries"
    page.get_by_role("button", name="Mark casebook complete").click()
    page.get_by_role("link", name="Sign and lock…").click()
    page.check('[name="confirm"]')
    page.fill('[name="password"]', TEST_PASSWORD)
    page.get_by_role("button", name="Sign and lock").click()
    page.wait_for_url(casebook)
    assert Patient.objects.get().is_locked


def test_query_pages_and_marked_registry_pages_fit_a_phone(
    page, live_server, coordinator_a, data_manager
):
    """The list (with its centre table), the raise form, the casebook with its markers and
    the patient list with its count, 390 px wide: nothing is wider than the screen."""
    base = live_server.url
    patient = build_casebook(coordinator_a)
    services.query_raise(
        user=data_manager, patient=patient, section="baseline", field="ecog", text="ECOG 1?"
    )
    log_in(page, base, "dora")
    page.set_viewport_size(PHONE)
    for url in (
        f"{base}/quality/queries/",
        f"{base}/quality/queries/new/?patient={patient.study_id}&section=baseline&field=ecog",
        f"{base}/patients/{patient.study_id}/",
        f"{base}/",
    ):
        page.goto(url)
        assert scroll_width(page) <= PHONE["width"], url
