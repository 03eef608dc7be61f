"""Tables 1–3 of the manuscript from a result bundle, and their DOCX, XLSX and CSV files.

Table 1: baseline characteristics overall (``table1``) and by each ``compare_by`` group
(``comparisons``), tests in a footnote. Table 2: univariate and multivariable Cox
(``cox``), with the PH check and Firth-penalized estimates where the bundle has them.
Table 3: adverse events (``ae_table``), any grade and grade 3–5, plan groups and irAEs.
Every cell is formatted with the house rounding of style.py; labels are in words.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from analytics import labels
from analytics.manuscript.style import fmt_hr_ci, fmt_n_pct, fmt_p

# Test markers of Table 1's p column, explained in its footnote.
TEST_MARKS = {"chi2": "a", "fisher": "b", "wilcoxon": "c", "t": "d", "welch": "e"}


@dataclass
class Table:
    slug: str
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    # "section" rows are printed bold across the table (a variable with several levels).
    kinds: list[str] = field(default_factory=list)
    footnotes: list[str] = field(default_factory=list)

    def add(self, cells: list[str], kind: str = "row") -> None:
        self.rows.append([str(c) for c in cells])
        self.kinds.append(kind)


def _continuous(median, q1, q3) -> str:
    if median is None:
        return "–"
    return f"{median:.1f} ({q1:.1f}–{q3:.1f})"


def _comparison_row(comparison: dict, variable: str) -> dict | None:
    for row in comparison.get("rows") or []:
        if row["variable"] == variable:
            return row
    return None


def _level_cells(row: dict | None, level) -> list[str]:
    if row is None:
        return ["", ""]
    for entry in row.get("levels") or []:
        if str(entry["level"]) == str(level):
            return [fmt_n_pct(n, pct) for n, pct in zip(entry["n"], entry["pct"], strict=True)]
    return ["0 (0.0)", "0 (0.0)"]


def _p_cell(row: dict | None) -> str:
    if row is None or row.get("p") is None:
        return "–" if row is not None else ""
    return f"{fmt_p(row['p'])}{TEST_MARKS.get(row.get('test', ''), '')}"


def table1(bundle: dict) -> Table:
    """Baseline characteristics: overall, and per group of each compare_by covariate."""
    n = bundle.get("n_patients", 0)
    comparisons = bundle.get("comparisons") or []
    header = [_("Characteristic"), _("Overall (N = %(n)d)") % {"n": n}]
    for comp in comparisons:
        for group in comp["groups"]:
            header.append(f"{labels.in_words(group['label'])} (n = {group['n']})")
        header.append(_("p"))
    table = Table(
        "table-1-baseline",
        _("Table 1. Baseline characteristics at the start of second-line treatment"),
        header,
    )
    rows = bundle.get("table1") or []
    done: set[str] = set()
    for r in rows:
        variable = r["variable"]
        comp_rows = [_comparison_row(c, variable) for c in comparisons]
        if "median" in r:
            cells = [
                _("%(what)s, median (IQR)") % {"what": labels.variable_label(bundle, variable)},
                _continuous(r["median"], r.get("q1"), r.get("q3")),
            ]
            for row in comp_rows:
                if row is None:
                    cells += ["", "", ""]
                    continue
                cells += [
                    _continuous(m, q1, q3)
                    for m, q1, q3 in zip(row["median"], row["q1"], row["q3"], strict=True)
                ]
                cells.append(_p_cell(row))
            table.add(cells)
            continue
        cov = labels.covariate(bundle, variable)
        binary = cov is not None and r.get("level") == 1
        if binary:
            cells = [
                labels.level_label(bundle, variable, 1, r.get("label")) + ", n (%)",
                fmt_n_pct(r["n"], r["pct"]),
            ]
            for row in comp_rows:
                cells += [*_level_cells(row, 1), _p_cell(row)]
            table.add(cells)
            continue
        if variable not in done:
            done.add(variable)
            section = [labels.variable_label(bundle, variable) + ", n (%)", ""]
            for row in comp_rows:
                section += ["", "", _p_cell(row)]
            table.add(section, "section")
        cells = [
            "  " + labels.level_label(bundle, variable, r.get("level")),
            fmt_n_pct(r["n"], r["pct"]),
        ]
        for row in comp_rows:
            cells += [*_level_cells(row, r.get("level")), ""]
        table.add(cells)
    used = {
        row.get("test")
        for comp in comparisons
        for row in comp.get("rows") or []
        if row.get("p") is not None
    }
    if used:
        marks = "; ".join(
            f"{TEST_MARKS[t]} {labels.test_label(t)}" for t in TEST_MARKS if t in used
        )
        table.footnotes.append(
            _(
                "p-values compare the groups: %(marks)s. Fisher's exact test is used when an "
                "expected count is below 5."
            )
            % {"marks": marks}
        )
    missing = [r for r in rows if r.get("missing")]
    if missing:
        table.footnotes.append(
            _("Missing values: %(list)s.")
            % {
                "list": ", ".join(
                    f"{labels.variable_label(bundle, r['variable'])} {r['missing']}"
                    for r in missing
                )
            }
        )
    table.footnotes.append(_("IQR, interquartile range. Percentages of the column's patients."))
    return table


def _ph_p(entry: dict | None) -> str:
    return fmt_p(entry.get("p")) if entry else "–"


def table2(bundle: dict) -> Table:
    """Univariate and multivariable Cox regression of the primary endpoint."""
    cox = bundle.get("cox") or {}
    endpoint = labels.endpoint_label(bundle, cox.get("endpoint", ""))
    header = [
        _("Variable"),
        _("n"),
        _("Events"),
        _("Univariate HR (95% CI)"),
        _("p"),
        _("PH test p"),
        _("Multivariable HR (95% CI)"),
        _("p"),
        _("PH test p"),
    ]
    table = Table(
        "table-2-cox",
        _("Table 2. Cox proportional hazards regression of %(endpoint)s")
        % {"endpoint": endpoint.lower()},
        header,
    )
    mv = cox.get("multivariable") or {}
    terms = {t["key"]: t for t in mv.get("terms") or []}
    mv_ph = {t["key"]: t for t in ((mv.get("ph") or {}).get("terms") or [])}
    firth_used = False
    for u in cox.get("univariate") or []:
        m = terms.get(u["key"])
        cells = [
            labels.in_words(u.get("comparison") or u["label"]),
            u.get("n", ""),
            u.get("events", ""),
            fmt_hr_ci(u.get("hr"), u.get("ci")),
            fmt_p(u.get("p")),
            _ph_p(u.get("ph")),
        ]
        if m is not None:
            cells += [
                fmt_hr_ci(m.get("hr"), m.get("ci")),
                fmt_p(m.get("p")),
                _ph_p(mv_ph.get(u["key"])),
            ]
        else:
            cells += ["–", "", ""]
        table.add(cells)
        uf, mf = u.get("firth"), (m or {}).get("firth")
        if uf or mf:
            firth_used = True
            row = ["  " + _("Firth-penalized †"), "", ""]
            row += [fmt_hr_ci(uf["hr"], uf["ci"]), fmt_p(uf["p"]), ""] if uf else ["", "", ""]
            row += [fmt_hr_ci(mf["hr"], mf["ci"]), fmt_p(mf["p"]), ""] if mf else ["", "", ""]
            table.add(row, "firth")
    notes = [
        _(
            "HR, hazard ratio of %(event)s for the named group against its reference; Cox "
            "regression with %(ties)s ties and Wald p-values."
        )
        % {
            "event": labels.event_word(cox.get("endpoint", ""), endpoint),
            "ties": (cox.get("ties") or "efron").capitalize(),
        }
    ]
    plan_mv = (bundle.get("plan") or {}).get("multivariable") or {}
    if plan_mv.get("select") == "univariate_p":
        notes.append(
            _("The multivariable model holds the variables with univariate p < %(t)s.")
            % {"t": plan_mv.get("threshold")}
        )
    if mv.get("lr_test"):
        lr = mv["lr_test"]
        notes.append(
            _(
                "Multivariable model: %(n)s patients, %(events)s events; likelihood-ratio "
                "test χ² = %(chi2).2f, df = %(df)s, p %(p)s."
            )
            % {
                "n": mv.get("n"),
                "events": mv.get("events"),
                "chi2": lr["chi2"],
                "df": lr["df"],
                "p": _p_relation(lr["p"]),
            }
        )
    ph_global = (mv.get("ph") or {}).get("global")
    if any(u.get("ph") for u in cox.get("univariate") or []) or ph_global:
        text = _(
            "PH test: proportional-hazards check by scaled Schoenfeld residuals (cox.zph, "
            "Kaplan–Meier time transform)."
        )
        if ph_global:
            text += " " + _("Multivariable global test χ² = %(chi2).2f, df = %(df)s, p %(p)s.") % {
                "chi2": ph_global["chi2"],
                "df": ph_global["df"],
                "p": _p_relation(ph_global["p"]),
            }
        notes.append(text)
    if firth_used:
        notes.append(
            _(
                "† Firth-penalized Cox regression (as R coxphf: Breslow ties, profile "
                "penalized-likelihood CI, penalized likelihood-ratio p), for models with a "
                "term flagged for separation or very wide CI."
            )
        )
    not_estimable = [
        labels.in_words(u["label"]) for u in cox.get("univariate") or [] if u.get("hr") is None
    ]
    if not_estimable:
        notes.append(
            _("Not estimable (no events in a group, or constant): %(list)s.")
            % {"list": ", ".join(not_estimable)}
        )
    table.footnotes.extend(notes)
    return table


def _p_relation(p) -> str:
    text = fmt_p(p)
    return text if text.startswith("<") or text == "–" else f"= {text}"


def table3(bundle: dict) -> Table:
    """Adverse events: any grade and grade 3–5, n (%) of all patients."""
    n = bundle.get("n_patients", 0)
    table = Table(
        "table-3-adverse-events",
        _("Table 3. Adverse events during second-line treatment (N = %(n)d)") % {"n": n},
        [_("Adverse event (CTCAE v5.0)"), _("Any grade, n (%)"), _("Grade 3–5, n (%)")],
    )
    groups = []
    for r in bundle.get("ae_table") or []:
        term = r["term"]
        if r["kind"] == "group":
            groups.append(f"{term}: {', '.join(r.get('members') or [])}")
            term = f"{term} ‡"
        kind = "section" if r["kind"] in ("any", "immune_related") else "row"
        table.add(
            [
                term,
                fmt_n_pct(r["any_grade"]["n"], r["any_grade"]["pct"]),
                fmt_n_pct(r["grade_3_5"]["n"], r["grade_3_5"]["pct"]),
            ],
            kind,
        )
    table.footnotes.append(
        _(
            "A patient with several events of one term counts once, at the worst grade. "
            "Percentages of all %(n)d patients."
        )
        % {"n": n}
    )
    if groups:
        table.footnotes.append("‡ " + _("Grouped terms: %(g)s.") % {"g": "; ".join(groups)})
    if bundle.get("ae_table") is None:
        table.footnotes.append(_("No adverse-event table in this analysis."))
    return table


def all_tables(bundle: dict) -> list[Table]:
    return [table1(bundle), table2(bundle), table3(bundle)]


# -- writers --------------------------------------------------------------------------------
def to_csv(table: Table) -> bytes:
    """The table as CSV (UTF-8 with BOM, so spreadsheet programs read the symbols)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([c.strip() for c in row])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def to_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table: title, header, rows, footnotes."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(_("Table %(n)s") % {"n": table.slug.split("-")[1]})
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(table.header)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for row, kind in zip(table.rows, table.kinds, strict=True):
            sheet.append([c.strip() for c in row])
            if kind == "section":
                sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
            elif row[0].startswith("  "):
                sheet.cell(row=sheet.max_row, column=1).alignment = Alignment(indent=1)
        sheet.append([])
        for note in table.footnotes:
            sheet.append([note])
        sheet.column_dimensions["A"].width = 48
        for letter in "BCDEFGHIJ":
            sheet.column_dimensions[letter].width = 20
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def to_docx(tables: list[Table], *, methods: str, heading: str, footer: str) -> bytes:
    """Tables 1–3 and the methods paragraph as one Word document (landscape, 9 pt)."""
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.shared import Mm, Pt

    doc = Document()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Mm(297), Mm(210)
    for margin in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, margin, Mm(18))
    normal = doc.styles["Normal"]
    normal.font.name = "Arial"
    normal.font.size = Pt(9)
    doc.add_heading(heading, level=1)
    doc.add_paragraph(footer)
    for table in tables:
        doc.add_heading(table.title, level=2)
        grid = doc.add_table(rows=1, cols=len(table.header))
        grid.style = "Table Grid"
        for cell, text in zip(grid.rows[0].cells, table.header, strict=True):
            cell.text = ""
            cell.paragraphs[0].add_run(text).bold = True
        for row, kind in zip(table.rows, table.kinds, strict=True):
            cells = grid.add_row().cells
            for cell, text in zip(cells, row, strict=True):
                cell.text = ""
                run = cell.paragraphs[0].add_run(text.strip())
                run.bold = kind == "section"
                if text.startswith("  "):
                    cell.paragraphs[0].paragraph_format.left_indent = Mm(3)
        for note in table.footnotes:
            para = doc.add_paragraph(note)
            para.runs[0].font.size = Pt(8)
    doc.add_heading(_("Statistical analysis"), level=2)
    doc.add_paragraph(methods)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
