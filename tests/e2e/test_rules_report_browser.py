"""The data-quality rules report in real headless Chromium, on a phone (390 px).

A casebook entered through the forms' services runs the rules after each save (the hooks
run: the live server's transactions commit). Its second line then gets 31 cycles, which
opens an automatic query; the data manager reads the report 390 px wide — it must not
scroll sideways — and follows the centre's link to the query.
"""

from __future__ import annotations

import pytest

from quality.models import Query
from registry import services
from tests.builders import build_casebook
from tests.e2e.support import ARTIFACTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def test_rules_report_on_a_phone_links_to_the_automatic_query(
    page, live_server, coordinator_a, data_manager
):
    base = live_server.url
    patient = build_casebook(coordinator_a)
    assert not Query.objects.exists()  # entering a clean casebook questions nothing
    services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="second_line",
        data={"cycles": 31},
        expected_version=1,
    )
    query = Query.objects.get(rule_code="cycles_2l_over_30")

    page.set_viewport_size(PHONE)
    log_in(page, base, "dora")
    page.goto(f"{base}/quality/rules/")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "rules_report_390.png"), full_page=True)
    page.get_by_role("link", name="AAA 1").click()
    page.get_by_role("link", name=f"#{query.pk}").click()
    page.wait_for_url(f"{base}/quality/queries/{query.pk}/")
    assert "More than 30 second-line cycles" in page.content()
