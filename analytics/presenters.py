"""A result bundle turned into what the dashboard shows: figures, table rows, CSV files."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics import figures, fonts, labels
from analytics.labels import endpoint_label, in_words

TABLE1_CSV_COLUMNS = ["variable", "label", "level", "n", "pct", "median", "q1", "q3", "missing"]
AE_CSV_COLUMNS = [
    "kind",
    "term",
    "members",
    "any_grade_n",
    "any_grade_pct",
    "grade_3_5_n",
    "grade_3_5_pct",
]


def fmt_p(p: float | None) -> str:
    if p is None:
        return "–"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def p_relation(p: float | None) -> str:
    """'= 0.024' or '< 0.001': the p-value after 'p' in a sentence, one relation sign."""
    text = fmt_p(p)
    return text if text.startswith("<") else f"= {text}"


def fmt_ci(ci: list | None, digits: int = 2) -> str:
    if not ci or ci[0] is None or ci[1] is None:
        return "NE"
    return f"{ci[0]:.{digits}f}–{ci[1]:.{digits}f}"


def fmt_median(v: float | None) -> str:
    return "NR" if v is None else f"{v:.2f}"


def clip_median_ci(ci: list | None) -> tuple[list | None, bool]:
    """A median's CI for display: a lower limit below 0 shown as 0 (contract §7: a symmetric
    "spss" interval can reach below 0 months); the bundle keeps the raw value. Returns the
    interval and whether it was clipped, so the page can say so in a footnote."""
    if not ci or ci[0] is None or ci[0] >= 0:
        return ci, False
    return [0.0, ci[1]], True


def fmt_median_ci(ci: list | None) -> str:
    """'1.15–6.98', or '0.00*–12.56' when the lower limit was clipped at 0."""
    shown, clipped = clip_median_ci(ci)
    if not clipped:
        return fmt_ci(shown)
    upper = "NE" if shown[1] is None else f"{shown[1]:.2f}"
    return f"0.00*–{upper}"


CLIPPED_FOOTNOTE = gettext_lazy(
    "* Lower limit of the median's confidence interval below 0 months, shown as 0 "
    "(symmetric interval)."
)


def _km_note(entry: dict) -> str:
    return _("Median %(median)s months (95%% CI %(ci)s); %(events)s events in %(n)s patients") % {
        "median": fmt_median(entry["median"]),
        "ci": fmt_median_ci(entry["ci"]),
        "events": entry["events"],
        "n": entry["n"],
    }


def km_clipped(bundle: dict) -> bool:
    """Whether any median CI of the bundle (overall or subgroup) is shown clipped."""
    entries = list((bundle.get("km") or {}).values())
    entries += [g for sub in bundle.get("subgroups") or [] for g in sub["groups"]]
    return any(clip_median_ci(e.get("ci"))[1] for e in entries)


@dataclass(frozen=True)
class FigureSpec:
    """One dashboard figure of a bundle, in the active language: its name in the figure's URL,
    what a reader who cannot see it is told (``alt``), and how to draw it (``draw`` → SVG)."""

    name: str
    kind: str  # "km" | "subgroup" | "forest"
    endpoint: str
    label: str
    alt: str
    draw: Callable[[], str] = field(compare=False, repr=False)
    key: str = ""


def figure_specs(bundle: dict) -> list[FigureSpec]:
    """The dashboard's figures of one bundle, without drawing any: Kaplan–Meier curves per
    endpoint, per plan subgroup, and the forest plot of the Cox models."""
    plan = bundle.get("plan") or {}
    step = plan.get("at_risk_step")
    specs: list[FigureSpec] = []
    for name, entry in (bundle.get("km") or {}).items():
        label = labels.plan_phrase(entry.get("label") or name)
        note = _km_note(entry)
        series = [
            {
                "label": label,
                "curve": entry["curve"],
                "at_risk": entry.get("at_risk"),
                "censored": entry.get("censored"),
            }
        ]
        specs.append(
            FigureSpec(
                name=f"km-{name}",
                kind="km",
                endpoint=name,
                label=label,
                alt=_("Kaplan–Meier curve of %(what)s. %(note)s.")
                % {"what": label.lower(), "note": note},
                draw=partial(
                    figures.km_figure,
                    series,
                    title=label,
                    ylabel=_("%(endpoint)s (%%)") % {"endpoint": label},
                    note=note,
                    at_risk_step=step,
                ),
            )
        )
    endpoints = plan.get("endpoints") or {}
    for sub in bundle.get("subgroups") or []:
        groups = [{**g, "label": in_words(g["label"])} for g in sub["groups"] if g.get("curve")]
        if len(groups) != len(sub["groups"]):
            continue
        ep_label = labels.plan_phrase(
            (endpoints.get(sub["endpoint"]) or {}).get("label", sub["endpoint"])
        )
        logrank = sub.get("logrank")
        p_text = (
            _("Log-rank p %(p)s") % {"p": p_relation(logrank["p"])}
            if logrank
            else _("Log-rank not computable")
        )
        note = "; ".join(
            [p_text]
            + [
                _("%(group)s %(median)s mo (%(events)s/%(n)s)")
                % {
                    "group": g["label"],
                    "median": fmt_median(g["median"]),
                    "events": g["events"],
                    "n": g["n"],
                }
                for g in groups
            ]
        )
        title = _("%(endpoint)s by %(covariate)s") % {
            "endpoint": ep_label,
            "covariate": labels.covariate_label(bundle, sub["key"]).lower(),
        }
        specs.append(
            FigureSpec(
                name=f"subgroup-{sub['key']}-{sub['endpoint']}",
                kind="subgroup",
                endpoint=sub["endpoint"],
                key=sub["key"],
                label=title,
                alt=_("Kaplan–Meier curves of %(what)s. %(note)s.") % {"what": title, "note": note},
                draw=partial(
                    figures.km_figure,
                    groups,
                    title=title,
                    ylabel=_("%(endpoint)s (%%)") % {"endpoint": ep_label},
                    note=note,
                    at_risk_step=step,
                ),
            )
        )
    cox = bundle.get("cox")
    rows = forest_rows(cox) if cox else []
    if rows:
        what = endpoint_label(bundle, cox["endpoint"])
        title = _("Cox regression, %(endpoint)s") % {"endpoint": what}
        specs.append(
            FigureSpec(
                name="forest",
                kind="forest",
                endpoint=cox["endpoint"],
                label=title,
                alt=_(
                    "Forest plot of %(title)s: hazard ratios with 95%% confidence intervals on a "
                    "log scale, univariate and multivariable; the table below gives the values."
                )
                % {"title": title},
                draw=partial(
                    figures.forest_figure,
                    rows,
                    title=title,
                    event=labels.event_word(cox["endpoint"], what),
                ),
            )
        )
    return specs


def figure_spec(bundle: dict, name: str) -> FigureSpec | None:
    return next((spec for spec in figure_specs(bundle) if spec.name == name), None)


def draw_figure(bundle: dict, name: str) -> str | None:
    """The named figure of a bundle as SVG text in the active language (None: no such figure)."""
    # English when the active language's glyphs are missing (analytics.fonts): never boxes.
    with fonts.figure_language():
        spec = figure_spec(bundle, name)
        return spec.draw() if spec is not None else None


def hr_direction(bundle: dict) -> str:
    """ "HR > 1: higher hazard of death" (for the primary endpoint's event)."""
    cox = bundle.get("cox") or {}
    name = cox.get("endpoint", "os")
    return _("HR > 1: higher hazard of %(event)s") % {
        "event": labels.event_word(name, endpoint_label(bundle, name))
    }


def forest_rows(cox: dict) -> list[dict]:
    names = {u["key"]: u["label"] for u in cox.get("univariate") or []}
    rows = []
    for u in cox.get("univariate") or []:
        rows.append(
            {
                "label": in_words(u["label"]),
                "hr": u.get("hr"),
                "ci": u.get("ci") or [None, None],
                "kind": "univariate",
                "flag": bool(u.get("warnings")),
            }
        )
    mv = cox.get("multivariable") or {}
    for t in mv.get("terms") or []:
        rows.append(
            {
                "label": in_words(t.get("label") or names.get(t["key"], t["key"])),
                "hr": t.get("hr"),
                "ci": t.get("ci") or [None, None],
                "kind": "multivariable",
                "flag": bool(t.get("warnings")),
            }
        )
    return rows


def cox_table(cox: dict | None) -> list[dict]:
    """One row per covariate: univariate and (if selected) multivariable HR, with warnings."""
    if not cox:
        return []
    mv = cox.get("multivariable") or {}
    mv_terms = {t["key"]: t for t in mv.get("terms") or []}
    rows = []
    for u in cox.get("univariate") or []:
        m = mv_terms.get(u["key"])
        warnings = list(u.get("warnings") or []) + list((m or {}).get("warnings") or [])
        rows.append(
            {
                "label": in_words(u["label"]),
                "comparison": in_words(u.get("comparison", "")),
                "n": u.get("n"),
                "events": u.get("events"),
                "uni": _hr_text(u),
                "uni_p": fmt_p(u.get("p")),
                "multi": _hr_text(m) if m else "–",
                "multi_p": fmt_p(m.get("p")) if m else "",
                "warnings": warnings,
            }
        )
    return rows


def _hr_text(term: dict | None) -> str:
    if not term or term.get("hr") is None:
        return _("not estimable")
    return f"{term['hr']:.2f} [{fmt_ci(term.get('ci'))}]"


def table1_display(bundle: dict) -> list[dict]:
    rows = []
    for r in bundle.get("table1") or []:
        column = labels.variable_label(bundle, r["variable"])
        if "median" in r:
            value = (
                f"{r['median']:.1f} ({r['q1']:.1f}–{r['q3']:.1f})"
                if r["median"] is not None
                else "–"
            )
            label = _("%(variable)s, median (IQR)") % {"variable": column}
        else:
            level = labels.level_label(bundle, r["variable"], r.get("level"), r.get("label"))
            cov = labels.covariate(bundle, r["variable"])
            label = level if cov is not None and r.get("level") == 1 else f"{column}: {level}"
            value = f"{r['n']} ({r['pct']:.1f})"
        rows.append({"label": label, "value": value, "missing": r.get("missing") or 0})
    return rows


def ae_display(bundle: dict) -> list[dict]:
    rows = []
    for r in bundle.get("ae_table") or []:
        rows.append(
            {
                "kind": r["kind"],
                "term": r["term"],
                "members": ", ".join(r.get("members") or []),
                "any": f"{r['any_grade']['n']} ({r['any_grade']['pct']:.1f})",
                "g35": f"{r['grade_3_5']['n']} ({r['grade_3_5']['pct']:.1f})",
            }
        )
    return rows


def table1_csv(bundle: dict) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TABLE1_CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for r in bundle.get("table1") or []:
        writer.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in TABLE1_CSV_COLUMNS})
    return buf.getvalue()


def ae_csv(bundle: dict) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(AE_CSV_COLUMNS)
    for r in bundle.get("ae_table") or []:
        writer.writerow(
            [
                r["kind"],
                r["term"],
                "; ".join(r.get("members") or []),
                r["any_grade"]["n"],
                r["any_grade"]["pct"],
                r["grade_3_5"]["n"],
                r["grade_3_5"]["pct"],
            ]
        )
    return buf.getvalue()
