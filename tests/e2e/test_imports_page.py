"""The import page in headless Chromium: a coordinator downloads the pre-filled template,
changes a value, uploads it, sees the change (old → new) in the preview, confirms, and the
casebook holds the new value. At 390 px wide the preview stays inside the screen."""

from datetime import date

import pytest
from openpyxl import load_workbook

from registry.models import Baseline
from tests import builders
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser


@pytest.mark.django_db(transaction=True)
def test_coordinator_imports_a_spreadsheet_from_the_page(
    live_server, browser, coordinator_a, settings, tmp_path
):
    settings.IMPORT_ROOT = tmp_path / "imports"
    patient = builders.build_casebook(coordinator_a)
    context = browser.new_context(viewport={"width": 390, "height": 844}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/login/?next=/imports/")
    page.fill("#id_username", coordinator_a.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/imports/")

    page.select_option("form.import-template-form select[name=center]", "AAA")
    with page.expect_download() as download:
        page.click("form.import-template-form button[type=submit]")
    path = tmp_path / "mine.xlsx"
    path.write_bytes(download.value.path().read_bytes())
    book = load_workbook(path)
    sheet = book["follow_up"]
    header = [c.value for c in sheet[1]]
    sheet.cell(row=3, column=header.index("contact_date") + 1).value = date(2022, 2, 1)
    book.save(path)

    page.set_input_files("form.import-form input[name=file]", str(path))
    page.click("form.import-form button[type=submit]")
    page.wait_for_selector(".import-confirm")
    changes = page.inner_text("table.import-changes")
    assert "contact_date" in changes and "→ 2022-02-01" in changes
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390 + 1, width

    page.click(".import-confirm")
    page.wait_for_selector(".import-done")
    assert Baseline.objects.get(patient=patient).weight_kg == 65
    assert patient.follow_ups.get().contact_date == date(2022, 2, 1)
    context.close()
