"""The manuscript pack: every figure and table of one finished analysis, as files.

See the package docstring (analytics/manuscript/__init__.py) for the entry points.
"""

from __future__ import annotations

import copy
import io
import zipfile
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.utils.translation import gettext as _

from analytics import fonts, labels
from analytics.curves import add_figure_data
from analytics.manuscript import figures, tables
from analytics.manuscript.methods import methods_paragraph
from analytics.manuscript.style import fmt_hr_ci, fmt_p, median_with_ci
from analytics.stats.covariates import derive_covariate

# Zip entries carry this fixed time so the same inputs give the same ZIP bytes.
ZIP_DATE = (2000, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class PackTables:
    """What the renderer needs of analytics.datasets.AnalysisTables (which satisfies it)."""

    patients: pd.DataFrame
    adverse_events: pd.DataFrame
    n_locked: int


def _p_relation(p) -> str:
    text = fmt_p(p)
    return text if text.startswith("<") or text == "–" else f"= {text}"


def _prepare(bundle: dict, patients: pd.DataFrame) -> dict:
    """A copy of the bundle with subgroup curves and censoring ticks (where it lacks them)."""
    out = copy.deepcopy(bundle)
    plan = out.get("plan") or {}
    return add_figure_data(out, patients, plan)


def _km_figures(bundle: dict, footer: str, ci_band: bool) -> dict[str, figures.Figure]:
    plan = bundle.get("plan") or {}
    step = plan.get("at_risk_step")
    out = {}
    for letter, (name, entry) in zip("abcdefgh", (bundle.get("km") or {}).items(), strict=False):
        label = labels.endpoint_label(bundle, name)
        median_text, clipped = median_with_ci(entry.get("median"), entry.get("ci"))
        lines = [
            _("Median %(text)s") % {"text": median_text},
            _("%(events)d events in %(n)d patients") % {"events": entry["events"], "n": entry["n"]},
        ]
        if clipped:
            lines.append(_("* lower limit below 0, shown as 0"))
        series = [{**entry, "label": label}]
        out[f"figure-1{letter}-km-{name}"] = figures.km_figure(
            series,
            title=_("Kaplan–Meier estimate of %(what)s") % {"what": label.lower()},
            ylabel=_("%(what)s (%%)") % {"what": label},
            stats_lines=lines,
            footer=footer,
            at_risk_step=step,
            ci_band=ci_band,
        )
    return out


def _subgroup_figures(bundle: dict, footer: str, ci_band: bool) -> dict[str, figures.Figure]:
    plan = bundle.get("plan") or {}
    cox = bundle.get("cox") or {}
    hr_by_key = {u["key"]: u for u in cox.get("univariate") or []}
    out = {}
    subs = [s for s in bundle.get("subgroups") or [] if all(g.get("curve") for g in s["groups"])]
    for letter, sub in zip("abcdefghijklmnop", subs, strict=False):
        ep = labels.endpoint_label(bundle, sub["endpoint"])
        series, lines, clipped_any = [], [], False
        for g in sub["groups"]:
            name = labels.in_words(g["label"])
            text, clipped = median_with_ci(g.get("median"), g.get("ci"))
            clipped_any = clipped_any or clipped
            series.append({**g, "label": name})
            lines.append(_("%(group)s: median %(text)s") % {"group": name, "text": text})
        term = hr_by_key.get(sub["key"])
        if (
            term is not None
            and sub["endpoint"] == cox.get("endpoint")
            and term.get("hr") is not None
        ):
            lines.append(_("HR %(hr)s") % {"hr": fmt_hr_ci(term["hr"], term["ci"])})
        logrank = sub.get("logrank")
        if logrank:
            lines.append(_("Log-rank p %(p)s") % {"p": _p_relation(logrank["p"])})
        if clipped_any:
            lines.append(_("* lower limit below 0, shown as 0"))
        title = _("%(endpoint)s by %(what)s") % {
            "endpoint": ep,
            "what": labels.covariate_label(bundle, sub["key"]).lower(),
        }
        out[f"figure-2{letter}-km-{sub['endpoint']}-by-{sub['key']}"] = figures.km_figure(
            series,
            title=title,
            ylabel=_("%(what)s (%%)") % {"what": ep},
            stats_lines=lines,
            footer=footer,
            at_risk_step=plan.get("at_risk_step"),
            ci_band=ci_band,
        )
    return out


def forest_rows(bundle: dict) -> list[dict]:
    """Forest plot rows: univariate terms, then the multivariable terms; Firth under each."""
    cox = bundle.get("cox") or {}
    rows: list[dict] = [{"label": _("Univariate"), "kind": "header"}]
    for u in cox.get("univariate") or []:
        rows.append({**u, "label": labels.in_words(u["label"]), "kind": "term"})
        if u.get("firth"):
            rows.append({**u["firth"], "label": _("Firth-penalized"), "kind": "firth"})
    mv = cox.get("multivariable") or {}
    if mv.get("terms"):
        names = {u["key"]: u["label"] for u in cox.get("univariate") or []}
        rows.append({"label": _("Multivariable"), "kind": "header"})
        for t in mv["terms"]:
            label = labels.in_words(names.get(t["key"], t.get("label", t["key"])))
            rows.append(
                {**t, "label": label, "n": mv.get("n"), "events": mv.get("events"), "kind": "term"}
            )
            if t.get("firth"):
                rows.append({**t["firth"], "label": _("Firth-penalized"), "kind": "firth"})
    return rows


def _group_covariate(bundle: dict) -> dict | None:
    """The covariate the waterfall is coloured by: LTR/STR, else the first subgroup."""
    plan = bundle.get("plan") or {}
    by_key = {c["key"]: c for c in plan.get("covariates") or []}
    if "ltr" in by_key:
        return by_key["ltr"]
    for key in plan.get("subgroups") or []:
        return by_key.get(key)
    return None


def _waterfall(bundle: dict, patients: pd.DataFrame, footer: str):
    if "dpr_pct" not in patients.columns:
        return None
    dpr = pd.to_numeric(patients["dpr_pct"], errors="coerce").to_numpy(dtype=float)
    cov = _group_covariate(bundle)
    if cov is not None and cov["column"] in patients.columns:
        group, _info = derive_covariate(patients, cov)
        names = [labels.in_words(n) for n in cov.get("labels") or ["0", "1"]]
    else:
        group, names = np.full(len(dpr), np.nan), ["", ""]
    return figures.waterfall_figure(
        dpr,
        group,
        names,
        title=_("Depth of response to first-line treatment"),
        footer=footer,
    )


def swimmer_lanes(patients: pd.DataFrame, treatment: pd.DataFrame | None) -> tuple[list[dict], str]:
    """Lanes of the swimmer plot, longest first, and what the bar shows."""
    frame = patients[["study_id", "os_months", "os_event", "pfs_months", "pfs_event"]].copy()
    if treatment is not None and len(treatment):
        frame = frame.merge(treatment[["study_id", "months", "ongoing"]], on="study_id", how="left")
        # Ongoing treatment (no end date) runs to the last follow-up.
        ongoing = frame["ongoing"].fillna(False).astype(bool)
        frame["months"] = frame["months"].where(~ongoing, frame["os_months"])
        what = _("bars: time on second-line treatment")
    else:
        frame["months"] = frame["pfs_months"]
        frame["ongoing"] = (frame["pfs_event"] == 0) & (frame["os_event"] == 0)
        what = _("bars: time to progression or last assessment (no treatment dates given)")
    frame = frame[frame["months"].notna()]
    frame = frame.sort_values("months", ascending=False, kind="stable").head(figures.SWIMMER_MAX)
    lanes = []
    for row in frame.itertuples(index=False):
        died = row.os_event == 1
        # A PFS event at the time of death is the death, not a progression.
        progressed = row.pfs_event == 1 and not (died and row.pfs_months >= row.os_months)
        lanes.append(
            {
                "months": float(row.months),
                "ongoing": bool(row.ongoing) if row.ongoing == row.ongoing else False,
                "progression": float(row.pfs_months) if progressed else None,
                "death": float(row.os_months) if died else None,
            }
        )
    return lanes, what


def flow_steps(bundle: dict, tables_in, flow: dict | None) -> list[dict]:
    """Registered → screen failures → enrolled → locked → analysed per endpoint."""
    steps: list[dict] = []
    analysed = int(len(tables_in.patients))
    locked = int(tables_in.n_locked)
    if flow:
        failures = flow.get("screen_failures") or []
        n_fail = sum(f["n"] for f in failures)
        side = _("Screen failures (n = %(n)d)") % {"n": n_fail}
        for f in failures:
            side += f"\n{f['reason'][:60]}: {f['n']}"
        steps.append(
            {"text": _("Registered\n(n = %(n)d)") % {"n": flow["registered"]}, "side": side}
        )
        not_locked = max(flow["enrolled"] - locked, 0)
        steps.append(
            {
                "text": _("Enrolled\n(n = %(n)d)") % {"n": flow["enrolled"]},
                "side": _("Casebook not locked (n = %(n)d)") % {"n": not_locked},
            }
        )
    steps.append(
        {
            "text": _("Casebooks locked\n(n = %(n)d)") % {"n": locked},
            "side": _("No second-line start date (n = %(n)d)") % {"n": locked - analysed},
        }
    )
    steps.append({"text": _("Analysed\n(n = %(n)d)") % {"n": analysed}, "side": ""})
    split = []
    for name, entry in (bundle.get("km") or {}).items():
        text = _("%(what)s\nn = %(n)d, events = %(e)d") % {
            "what": labels.endpoint_label(bundle, name),
            "n": entry["n"],
            "e": entry["events"],
        }
        excluded = entry.get("n_excluded") or 0
        if excluded:
            text += "\n" + _("excluded, time or event blank: %(n)d") % {"n": excluded}
        split.append(text)
    if split:
        steps.append({"text": "", "split": split, "side": ""})
    return steps


def manuscript_files(
    bundle: dict,
    tables_in,
    *,
    label: str,
    dataset_sha256: str,
    flow: dict | None = None,
    treatment: pd.DataFrame | None = None,
    formats: tuple[str, ...] = figures.FORMATS,
    ci_band: bool = True,
) -> dict[str, bytes]:
    """Every figure (SVG, PNG 300 dpi, PDF), table (DOCX, XLSX, CSV) and the methods text,
    in the active language (English if its glyphs are missing: analytics.fonts);
    ``ci_band=False`` draws the Kaplan–Meier curves without their confidence bands."""
    with fonts.figure_language():
        return _manuscript_files(
            bundle,
            tables_in,
            label=label,
            dataset_sha256=dataset_sha256,
            flow=flow,
            treatment=treatment,
            formats=formats,
            ci_band=ci_band,
        )


def _manuscript_files(
    bundle: dict,
    tables_in,
    *,
    label: str,
    dataset_sha256: str,
    flow: dict | None,
    treatment: pd.DataFrame | None,
    formats: tuple[str, ...],
    ci_band: bool,
) -> dict[str, bytes]:
    patients = tables_in.patients
    prepared = _prepare(bundle, patients)
    footer = figures.footer_text(label, dataset_sha256)
    out: dict[str, bytes] = {}
    drawn: dict[str, figures.Figure] = {}
    drawn.update(_km_figures(prepared, footer, ci_band))
    drawn.update(_subgroup_figures(prepared, footer, ci_band))
    cox = prepared.get("cox") or {}
    if cox.get("univariate"):
        event = labels.event_word(cox["endpoint"], labels.endpoint_label(prepared, cox["endpoint"]))
        drawn["figure-3-forest"] = figures.forest_figure(
            forest_rows(prepared),
            title=_("Hazard ratios of %(endpoint)s")
            % {"endpoint": labels.endpoint_label(prepared, cox["endpoint"]).lower()},
            event=event,
            footer=footer,
        )
    waterfall = _waterfall(prepared, patients, footer)
    if waterfall is not None:
        drawn["figure-s1-waterfall"] = waterfall
    if {"os_months", "pfs_months"} <= set(patients.columns):
        lanes, what = swimmer_lanes(patients, treatment)
        drawn["figure-s2-swimmer"] = figures.swimmer_figure(
            lanes,
            title=_("Second-line treatment and outcome per patient"),
            note=what[:1].upper() + what[1:] + ".",
            footer=footer,
            n_total=len(patients),
        )
    drawn["figure-s3-flow"] = figures.flow_figure(
        flow_steps(prepared, tables_in, flow),
        title=_("Patient flow"),
        footer=footer,
    )
    for name, fig in drawn.items():
        for fmt, content in figures.render(fig, formats).items():
            out[f"figures/{name}.{fmt}"] = content

    table_list = tables.all_tables(prepared)
    methods = methods_paragraph(prepared)
    for table in table_list:
        out[f"tables/{table.slug}.csv"] = tables.to_csv(table)
    out["tables/tables.xlsx"] = tables.to_xlsx(table_list)
    out["tables/tables-and-methods.docx"] = tables.to_docx(
        table_list,
        methods=methods,
        heading=_("Tables and statistical methods: %(label)s") % {"label": label},
        footer=footer,
    )
    out["methods.txt"] = (methods + "\n").encode("utf-8")
    out["README.txt"] = _readme(prepared, label, dataset_sha256, sorted(out)).encode("utf-8")
    return out


def _readme(bundle: dict, label: str, dataset_sha256: str, names: list[str]) -> str:
    lines = [
        _("Manuscript pack: %(label)s") % {"label": label},
        _("Dataset SHA-256: %(hash)s") % {"hash": dataset_sha256},
        _("Plan SHA-256: %(hash)s") % {"hash": bundle.get("plan_sha256", "")},
        _("Engine: analytics.stats %(v)s") % {"v": bundle.get("engine_version", "")},
        _("Patients analysed: %(n)s") % {"n": bundle.get("n_patients")},
        "",
        _("Files:"),
        *[f"  {n}" for n in [*names, "README.txt"]],
        "",
    ]
    return "\n".join(lines)


def zip_files(files: dict[str, bytes]) -> bytes:
    """Pack files as one ZIP (fixed entry times: same files, same bytes)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name])
    return buf.getvalue()


def manuscript_zip(bundle: dict, tables_in, **kwargs) -> bytes:
    """``manuscript_files`` in one ZIP."""
    return zip_files(manuscript_files(bundle, tables_in, **kwargs))
