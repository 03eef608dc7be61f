"""Tables 1–3 read back from the DOCX, XLSX and CSV, and the methods paragraph's facts.

Expected numbers come from the bundle (rounded here with Python's own format, not the
pack's formatter), from counts a reader can check in seed-cohort.md, and for Cox from R.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess

import pytest
from docx import Document
from openpyxl import load_workbook

from tests.publication.conftest import DEMO


def _docx_cells(pack) -> list[list[list[str]]]:
    doc = Document(io.BytesIO(pack["tables/tables-and-methods.docx"]))
    return [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]


def _row(table: list[list[str]], first: str) -> list[str]:
    return next(r for r in table if r[0] == first)


def test_docx_table1_holds_the_baseline_counts_overall_and_by_group(demo_pack, demo_bundle):
    table1 = _docx_cells(demo_pack)[0]
    header = table1[0]
    assert header[1] == "Overall (N = 28)"
    assert "Short-term responders (n = 16)" in header and "Long-term responders (n = 12)" in header
    # seed-cohort.md: 18 patients over 60 (64.3 %), 24 men (85.7 %)
    assert _row(table1, "Age > 60, n (%)")[1] == "18 (64.3)"
    assert _row(table1, "Male, n (%)")[1] == "24 (85.7)"
    comp = demo_bundle["comparisons"][0]
    male = next(r for r in comp["rows"] if r["variable"] == "male")
    n, pct = male["levels"][0]["n"], male["levels"][0]["pct"]
    row = _row(table1, "Male, n (%)")
    assert row[2:4] == [f"{n[0]} ({pct[0]:.1f})", f"{n[1]} ({pct[1]:.1f})"]
    assert row[4] == f"{male['p']:.3f}b"  # b: Fisher's exact test, named in the footnote
    assert "l2_aa" not in str(table1) and "DpR" not in str(table1)


def test_docx_table2_holds_every_hr_with_house_rounding(demo_pack, demo_bundle):
    table2 = _docx_cells(demo_pack)[1]
    text = str(table2)
    cox = demo_bundle["cox"]
    for u in cox["univariate"]:
        lo, hi = u["ci"]
        assert f"{u['hr']:.2f} ({lo:.2f}–{hi:.2f})" in text, u["key"]
        assert f"{u['ph']['p']:.3f}" in text or u["ph"]["p"] < 0.001
    liver = _row(table2, "Liver metastasis vs No liver metastasis")
    assert liver[4] == "< 0.001"  # p = 0.0008 in the demo cohort
    assert any(r[0] == "Firth-penalized †" for r in table2)


def test_docx_table3_holds_the_adverse_event_counts(demo_pack):
    table3 = _docx_cells(demo_pack)[2]
    # seed-cohort.md: every patient had an AE, 4 (14.3 %) of grade 3–5; 6 (21.4 %) irAEs
    assert _row(table3, "Any adverse event")[1:] == ["28 (100.0)", "4 (14.3)"]
    assert _row(table3, "Any immune-related adverse event")[1:] == ["6 (21.4)", "1 (3.6)"]
    assert _row(table3, "Pneumonitis ‡")[1] == "10 (35.7)"


def test_xlsx_has_one_sheet_per_table_and_csv_the_same_rows(demo_pack):
    book = load_workbook(io.BytesIO(demo_pack["tables/tables.xlsx"]))
    assert book.sheetnames == ["Table 1", "Table 2", "Table 3"]
    sheet = book["Table 3"]
    assert sheet["A1"].value.startswith("Table 3. Adverse events")
    rows = list(
        csv.reader(io.StringIO(demo_pack["tables/table-3-adverse-events.csv"].decode("utf-8-sig")))
    )
    assert rows[0] == ["Adverse event (CTCAE v5.0)", "Any grade, n (%)", "Grade 3–5, n (%)"]
    assert ["Any adverse event", "28 (100.0)", "4 (14.3)"] in rows
    assert [c.value for c in sheet[3]][:3] == rows[1]


def test_methods_paragraph_states_what_was_computed(demo_pack, demo_bundle):
    text = demo_pack["methods.txt"].decode()
    assert "SPSS-compatible symmetric intervals" in text
    assert "Efron method for ties" in text
    ph = demo_bundle["cox"]["multivariable"]["ph"]["global"]
    assert f"χ² = {ph['chi2']:.2f}, df = {ph['df']}, p = {ph['p']:.3f}" in text
    assert "Firth-penalized Cox regression" in text and "the multivariable model" in text
    assert "Fisher's exact test" in text and "Wilcoxon rank-sum test" in text
    assert "verified against R survival 3.5" in text
    assert demo_bundle["engine_version"] in text
    docx = "\n".join(
        p.text for p in Document(io.BytesIO(demo_pack["tables/tables-and-methods.docx"])).paragraphs
    )
    assert text.strip() in docx


RSCRIPT = shutil.which("Rscript")


def test_docx_cox_hazard_ratios_equal_r_coxph(demo_pack, tmp_path):
    if RSCRIPT is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("Rscript not installed and REQUIRE_SERVICES=1")
        pytest.skip("Rscript not installed")
    script = tmp_path / "cox.R"
    script.write_text(
        "suppressMessages(library(survival))\n"
        f"d <- read.csv('{DEMO / 'demo_patients.csv'}')\n"
        "f <- coxph(Surv(os_months, os_event) ~ liver_mets, data = d, ties = 'efron')\n"
        "s <- summary(f)$conf.int\n"
        "cat(sprintf('%.2f (%.2f–%.2f)', s[1, 1], s[1, 3], s[1, 4]))\n"
    )
    expected = subprocess.run(
        [RSCRIPT, str(script)], capture_output=True, text=True, check=True, timeout=120
    ).stdout.strip()
    liver = _row(_docx_cells(demo_pack)[1], "Liver metastasis vs No liver metastasis")
    assert liver[3] == expected
