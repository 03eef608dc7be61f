"""A coordinator of a Chinese centre does a whole casebook in Chinese on a phone (issue 15).

Headless Chromium at 390 × 844 whose browser asks for English: the account's saved language
wins. The coordinator opens the folded menu, registers a patient (first with a date in the
future and no sex: both refused in Chinese beside their fields, nothing saved), enters every
part, meets the adverse-event date rule in Chinese, and marks the casebook complete. No page
of the journey scrolls sideways.

Expected words come from the Chinese catalogue (gettext under zh-hans), and each is checked
to be Chinese first, so a message left untranslated fails here rather than passing as English.
"""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.utils import formats, translation
from django.utils.translation import gettext

from registry.models import AdverseEvent, Patient
from tests.e2e.support import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
CJK = re.compile(r"[\u4e00-\u9fff]")


def zh(message: str) -> str:
    with translation.override("zh-hans"):
        translated = gettext(message)
    assert CJK.search(translated), f"not translated into Chinese: {message!r}"
    return translated


def zh_date(value: date) -> str:
    with translation.override("zh-hans"):
        return formats.date_format(value, "DATE_FORMAT")


def fits_the_phone(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"
    assert page.evaluate("document.documentElement.lang") == "zh-hans", page.url


def choose(page, name: str, value: str) -> None:
    page.check(f'input[name="{name}"][value="{value}"]')


def fill(page, values: dict[str, str]) -> None:
    for name, value in values.items():
        page.fill(f'[name="{name}"]', value)


def select(page, values: dict[str, str]) -> None:
    """Answer choice fields whichever way the form shows them: radios up to three choices
    (registry.forms.RADIO_MAX_CHOICES), a drop-down above."""
    for name, value in values.items():
        radio = page.locator(f'input[type=radio][name="{name}"][value="{value}"]')
        if radio.count():
            radio.check()
        else:
            page.select_option(f'select[name="{name}"]', value)


def save(page, base: str, study_id: str, anchor: str) -> None:
    page.get_by_role("button", name=zh("Save"), exact=True).click()
    page.wait_for_url(f"{base}/patients/{study_id}/#{anchor}")
    fits_the_phone(page)


def open_part(page, slug: str, button: str) -> None:
    page.locator(f"#{slug}").get_by_role("link", name=zh(button)).click()
    fits_the_phone(page)


def test_a_coordinator_does_a_whole_casebook_in_chinese_on_a_phone(
    browser, live_server, coordinator_a
):
    coordinator_a.language = "zh-hans"
    coordinator_a.save(update_fields=["language"])
    base = live_server.url
    context = browser.new_context(viewport=PHONE, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        log_in(page, base, coordinator_a.username)
        fits_the_phone(page)
        assert page.locator("h1").first.inner_text() == zh("Patients")

        # The menu is folded on a phone: open it, then register a patient.
        page.locator(".menu-toggle").click()
        page.get_by_role("link", name=zh("Register patient"), exact=True).click()
        page.wait_for_url(f"{base}/patients/register/")
        fits_the_phone(page)
        fill(
            page,
            {
                "mrn": "H-0042",
                "initials": "WL",
                "date_of_birth": "1958-04-02",
                "registration_date": "2099-01-01",
            },
        )
        for name in Patient.inclusion_fields:
            choose(page, name, "True")
        for name in Patient.exclusion_fields:
            choose(page, name, "False")
        page.get_by_role("button", name=zh("Register"), exact=True).click()
        future = page.locator("#field-registration_date .field-error")
        future.wait_for()
        with translation.override("zh-hans"):
            expected = gettext("%(date)s is in the future: check the year.") % {
                "date": zh_date(date(2099, 1, 1))
            }
        assert CJK.search(expected) and future.inner_text() == expected
        assert page.locator("#field-sex .field-error").inner_text() == zh("This field is required.")
        fits_the_phone(page)
        assert not Patient.objects.exists()

        page.fill('[name="registration_date"]', "2021-03-02")
        choose(page, "sex", "F")
        page.get_by_role("button", name=zh("Register"), exact=True).click()
        page.wait_for_url(f"{base}/patients/AAA-0001/")
        fits_the_phone(page)
        with translation.override("zh-hans"):
            registered = gettext("%(study_id)s registered and enrolled.") % {"study_id": "AAA-0001"}
        assert registered in page.locator(".flashes").inner_text()

        # Baseline.
        open_part(page, "baseline", "Enter")
        choose(page, "smoking", "former")
        fill(
            page,
            {
                "pack_years": "30",
                "height_cm": "162",
                "weight_kg": "55",
                "ecog": "1",
                "diagnosis_date": "2020-01-10",
            },
        )
        choose(page, "diagnosis_confirmation", "histological")
        choose(page, "extensive_stage_basis", "distant_metastasis")
        for site in ("mets_brain", "mets_liver", "mets_adrenal", "mets_other"):
            choose(page, site, "False")
        choose(page, "mets_bone", "True")
        save(page, base, "AAA-0001", "baseline")

        # First line, second line.
        open_part(page, "first-line", "Enter")
        choose(page, "platinum_agent", "carboplatin")
        choose(page, "etoposide", "True")
        fill(page, {"start_date": "2020-01-20", "cycles": "4", "progression_date": "2021-02-15"})
        choose(page, "thoracic_rt", "False")
        select(page, {"best_response": "PR"})
        save(page, base, "AAA-0001", "first-line")

        open_part(page, "second-line", "Enter")
        fill(page, {"start_date": "2021-03-01", "cycles": "6"})
        select(
            page,
            {
                "chemotherapy_agent": "none",
                "antiangiogenic_agent": "anlotinib",
                "radiotherapy_site": "none",
                "end_reason": "ongoing",
            },
        )
        save(page, base, "AAA-0001", "second-line")

        # Two RECIST assessments of the first line.
        for when, total, response in (("2020-01-15", "100", "NE"), ("2020-03-15", "60", "PR")):
            open_part(page, "assessments", "+ Add")
            select(page, {"line": "1L", "overall_response": response})
            fill(page, {"assessment_date": when, "target_sum_mm": total})
            choose(page, "new_lesions", "False")
            save(page, base, "AAA-0001", "assessments")

        # An adverse event dated before the 2L start: refused in Chinese beside its date.
        open_part(page, "adverse-events", "+ Add")
        select(page, {"term": "Fatigue", "attribution": "possible", "action_taken": "none"})
        select(page, {"outcome": "recovered"})
        fill(page, {"grade": "1", "onset_date": "2021-02-20"})
        choose(page, "serious", "False")
        choose(page, "immune_related", "False")
        page.get_by_role("button", name=zh("Save"), exact=True).click()
        onset = page.locator("#field-onset_date .field-error")
        onset.wait_for()
        assert CJK.search(onset.inner_text()) and zh_date(date(2021, 3, 1)) in onset.inner_text()
        fits_the_phone(page)
        assert not AdverseEvent.objects.exists()
        page.fill('[name="onset_date"]', "2021-03-20")
        save(page, base, "AAA-0001", "adverse-events")
        assert AdverseEvent.objects.get().term == "Fatigue"

        # Follow-up.
        open_part(page, "follow-up", "+ Add")
        fill(page, {"contact_date": "2022-01-10"})
        select(page, {"vital_status": "alive", "progression_status": "progressed"})
        save(page, base, "AAA-0001", "follow-up")

        # Every part entered: the casebook is marked complete, in Chinese.
        page.get_by_role("button", name=zh("Mark casebook complete"), exact=True).click()
        page.wait_for_url(f"{base}/patients/AAA-0001/")
        fits_the_phone(page)
        with translation.override("zh-hans"):
            complete = gettext("Casebook %(study_id)s is complete and ready to sign.") % {
                "study_id": "AAA-0001"
            }
        assert complete in page.locator(".flashes").inner_text()
        assert Patient.objects.get().casebook_status == "complete"
    finally:
        context.close()
