"""The printable casebook printed to PDF by headless Chromium: every page carries the study,
the patient, the print date and "page n of m" in its margin."""

from __future__ import annotations

import io
import unicodedata

import pytest
from django.utils import timezone, translation
from django.utils.formats import date_format

from tests.builders import build_casebook, lock_casebook
from tests.e2e.support import log_in
from tests.factories import TEST_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_printed_casebook_has_the_header_and_page_numbers_on_every_page(
    browser, live_server, coordinator_a, investigator_a, settings
):
    pypdf = pytest.importorskip("pypdf")
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    context = browser.new_context()
    try:
        page = context.new_page()
        log_in(page, live_server.url, coordinator_a.username)
        page.goto(f"{live_server.url}/patients/{patient.study_id}/print/")
        pdf = page.pdf(format="A4")
    finally:
        context.close()
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    # NFKC: a font's ligature glyphs come out of the text layer as one character ("ﬁ" for
    # "fi"), depending on the fonts the machine has.
    pages = [unicodedata.normalize("NFKC", p.extract_text()) for p in reader.pages]
    assert len(pages) >= 2  # the audit trail alone runs past one page
    # The print date as an English page writes it (3 Apr 2024), never the ambiguous 03/04.
    with translation.override("en-gb"):
        today = date_format(timezone.now())
    for number, text in enumerate(pages, start=1):
        flat = " ".join(text.split())
        assert f"{settings.STUDY_TITLE} · {patient.study_id}" in flat
        assert f"Printed {today}" in flat
        assert f"Page {number} of {len(pages)}" in flat
    everything = " ".join(" ".join(pages).split())
    assert "Signed by" in everything and "Audit trail" in everything
    assert patient.mrn in everything  # the patient's own centre sees the identifiers
