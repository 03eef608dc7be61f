"""A coordinator enters a casebook in real headless Chromium (Debian's /usr/bin/chromium).

Flow: log in, register an eligible patient, fill baseline, first and second line, add an
adverse event, see the AE-before-2L-start error next to the onset date, and a coordinator
of another centre who opens the patient's URL gets 404.
"""

from __future__ import annotations

import pytest

from registry.models import AdverseEvent, Baseline, Patient, SecondLineTherapy
from tests.e2e.support import log_in, log_out

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def choose(page, name: str, value: str) -> None:
    page.check(f'input[name="{name}"][value="{value}"]')


def fill_fields(page, values: dict[str, str]) -> None:
    for name, value in values.items():
        page.fill(f'[name="{name}"]', value)


def open_part(page, slug: str, button: str) -> None:
    page.locator(f"#{slug}").get_by_role("link", name=button).click()


def test_coordinator_enters_a_casebook_and_other_centre_gets_404(
    page, live_server, coordinator_a, coordinator_b
):
    base = live_server.url
    log_in(page, base, "alice")

    # Register an eligible patient.
    page.get_by_role("link", name="+ Register patient").click()
    fill_fields(
        page,
        {
            "mrn": "H-0042",
            "initials": "WL",
            "date_of_birth": "1958-04-02",
            "registration_date": "2021-03-02",
        },
    )
    choose(page, "sex", "F")
    for name in Patient.inclusion_fields:
        choose(page, name, "True")
    for name in Patient.exclusion_fields:
        choose(page, name, "False")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(f"{base}/patients/AAA-0001/")
    assert "AAA-0001 registered and enrolled." in page.content()
    assert Patient.objects.get().enrolment_status == "enrolled"

    # Baseline: pack-years appears only once the patient is a former smoker.
    open_part(page, "baseline", "Enter")
    assert page.locator("#field-pack_years").is_hidden()
    choose(page, "smoking", "former")
    assert page.locator("#field-pack_years").is_visible()
    fill_fields(
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
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{base}/patients/AAA-0001/#baseline")
    assert Baseline.objects.get().height_cm == 162
    # 55 / 1.62² = 20.96
    assert "21.0 kg/m² (normal)" in page.content()

    # First line.
    open_part(page, "first-line", "Enter")
    choose(page, "platinum_agent", "carboplatin")
    choose(page, "etoposide", "True")
    fill_fields(page, {"start_date": "2020-01-20", "cycles": "4"})
    choose(page, "thoracic_rt", "False")
    page.select_option('[name="best_response"]', "PR")
    fill_fields(page, {"progression_date": "2021-02-15"})
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{base}/patients/AAA-0001/#first-line")

    # Second line (its start date is the bound for adverse events).
    open_part(page, "second-line", "Enter")
    fill_fields(page, {"start_date": "2021-03-01", "cycles": "6"})
    page.select_option('[name="chemotherapy_agent"]', "none")
    page.select_option('[name="antiangiogenic_agent"]', "anlotinib")
    page.select_option('[name="radiotherapy_site"]', "none")
    page.select_option('[name="end_reason"]', "ongoing")
    assert page.locator("#field-end_date").is_hidden()
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{base}/patients/AAA-0001/#second-line")
    assert SecondLineTherapy.objects.get().end_reason == "ongoing"

    # An adverse event: an immune-related term pre-ticks "immune-related: yes".
    open_part(page, "adverse-events", "+ Add")
    page.select_option('[name="term"]', "Hypothyroidism")
    assert page.is_checked('input[name="immune_related"][value="True"]')
    fill_fields(page, {"grade": "2", "onset_date": "2021-05-10"})
    choose(page, "serious", "False")
    page.select_option('[name="attribution"]', "probable")
    page.select_option('[name="action_taken"]', "none")
    page.select_option('[name="outcome"]', "recovering")
    page.get_by_role("button", name="Save and add another").click()
    page.wait_for_url(f"{base}/patients/AAA-0001/adverse-events/add/")
    event = AdverseEvent.objects.get()
    assert (event.term, event.immune_related) == ("Hypothyroidism", True)

    # A second AE dated before the 2L start: the error stands next to the onset date.
    page.select_option('[name="term"]', "Fatigue")
    fill_fields(page, {"grade": "1", "onset_date": "2021-02-20"})
    choose(page, "serious", "False")
    choose(page, "immune_related", "False")
    page.select_option('[name="attribution"]', "possible")
    page.select_option('[name="action_taken"]', "none")
    page.select_option('[name="outcome"]', "recovered")
    page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator("#field-onset_date .field-error")
    error.wait_for()
    assert error.inner_text() == "Onset date must not be before the 2L start date (1 Mar 2021)."
    assert AdverseEvent.objects.count() == 1

    # A coordinator of another centre cannot open the patient.
    log_out(page, base)
    log_in(page, base, "bob")
    response = page.goto(f"{base}/patients/AAA-0001/")
    assert response.status == 404
    assert "H-0042" not in page.content()
