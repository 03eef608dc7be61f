"""The export page in a real headless Chromium: request, see it finish, download the ZIP."""

import io
import json
import zipfile
from datetime import date

import pytest

from tests.exchange.conftest import seed_patient
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def browser_page(browser):
    # A context of the session's one Chromium (tests/e2e/conftest.py) that accepts downloads.
    context = browser.new_context(accept_downloads=True)
    yield context.new_page()
    context.close()


@pytest.mark.django_db(transaction=True)
def test_pi_exports_from_the_page_and_downloads_a_deidentified_zip(
    live_server, browser_page, coordinator_a, investigator_a, pi_user, settings, tmp_path
):
    settings.EXPORT_ROOT = tmp_path / "exports"
    seeded = seed_patient(coordinator_a, investigator_a, 1, dob=date(1957, 6, 15))
    page = browser_page
    page.goto(f"{live_server.url}/login/?next=/exports/")
    page.fill("#id_username", pi_user.username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/exports/")
    page.check("input[name=formats][value=redcap]")
    page.click("form.export-form button[type=submit]")
    page.wait_for_selector(".flash-success")
    assert "queued" in page.inner_text(".flash-success")
    with page.expect_download() as download_info:
        page.click("a[href$='/download/']")
    zf = zipfile.ZipFile(io.BytesIO(download_info.value.path().read_bytes()))
    assert json.loads(zf.read("manifest.json"))["label"] == "DE-IDENTIFIED"
    assert seeded.mrn.encode() not in b"".join(zf.read(n) for n in zf.namelist())
    assert "redcap/records.csv" in zf.namelist()
