"""The manuscript's figures with matplotlib, in the journal preset (style.py).

Each function returns a matplotlib Figure; ``render`` writes it as SVG, PNG (300 dpi) and
PDF. Every figure carries a footer with the data cut (or run) label and the dataset hash,
so a figure pasted into a draft can be traced to the data behind it.
"""

from __future__ import annotations

import io
import logging
import math
import textwrap

import matplotlib

matplotlib.use("Agg")

import matplotlib.lines  # noqa: E402
import numpy as np  # noqa: E402
from django.utils.translation import gettext as _  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib import transforms  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

from analytics.manuscript import style  # noqa: E402
from analytics.manuscript.style import fmt_hr_ci, fmt_p  # noqa: E402

# fontTools logs every font subset of a PDF at INFO: noise in a command's output.
logging.getLogger("fontTools").setLevel(logging.WARNING)

FORMATS = ("svg", "png", "pdf")
# A swimmer plot is read lane by lane: beyond this many patients it shows the longest.
SWIMMER_MAX = 60
# Above this many patients a waterfall shows each group's ordered profile, side by side.
WATERFALL_BARS_MAX = 400


def render(fig: Figure, formats: tuple[str, ...] = FORMATS) -> dict[str, bytes]:
    """The figure as bytes per format; closes it."""
    out: dict[str, bytes] = {}
    with plt.rc_context(style.RC):
        for fmt in formats:
            buf = io.BytesIO()
            kwargs = {"dpi": style.PNG_DPI} if fmt == "png" else {}
            # Fixed metadata: the same bundle gives the same PDF and PNG bytes.
            meta = {"Creator": "ES-SCLC registry"} if fmt in ("pdf", "svg") else {}
            if fmt == "pdf":
                meta["CreationDate"] = None
            if fmt == "svg":
                meta["Date"] = None
            fig.savefig(buf, format=fmt, metadata=meta or None, **kwargs)
            out[fmt] = buf.getvalue()
    plt.close(fig)
    return out


def _figure(width_mm: float, height_mm: float) -> Figure:
    with plt.rc_context(style.RC):
        return plt.figure(figsize=(style.inches(width_mm), style.inches(height_mm)))


def _footer(fig: Figure, footer: str) -> None:
    fig.text(0.01, 0.008, footer, fontsize=5.5, color=style.MUTED, ha="left", va="bottom")


def footer_text(label: str, dataset_sha256: str) -> str:
    return _("Data: %(label)s · dataset SHA-256 %(hash)s") % {
        "label": label,
        "hash": dataset_sha256[:16],
    }


def _month_step(t_max: float, at_least: float | None) -> float:
    for step in (3, 6, 12, 24, 60):
        if t_max / step <= 8:
            return float(max(step, at_least or 0))
    return 120.0


def _at_risk_at(series: dict, t: float) -> int:
    """n at risk at t (time ≥ t): the bundle's at-risk table, else the curve's counts."""
    for row in series.get("at_risk") or []:
        if abs(row["t"] - t) < 1e-9:
            return int(row["n"])
    later = [p for p in series["curve"][1:] if p["t"] >= t]
    return int(later[0]["at_risk"]) if later else 0


def _step_values(curve: list[dict], key: str) -> tuple[list[float], list[float]]:
    return [p["t"] for p in curve], [math.nan if p[key] is None else p[key] for p in curve]


def km_figure(
    series: list[dict],
    *,
    title: str,
    ylabel: str,
    stats_lines: list[str],
    footer: str,
    at_risk_step: float | None = None,
    ci_band: bool = True,
    width_mm: float = style.SINGLE_COLUMN_MM,
) -> Figure:
    """Kaplan–Meier curves: censoring ticks, optional pointwise CI band, median lines,
    statistics in the panel and the numbers at risk aligned with the x ticks under the axis.

    series: [{"label", "curve": [{"t","s","lo","hi","at_risk"}], "at_risk": [{"t","n"}],
    "censored": [[t, s], …], "median": float|None}].
    """
    n_rows = len(series)
    risk_mm = 5.0 + 3.2 * n_rows
    title_lines = textwrap.wrap(title, 52, break_on_hyphens=False) or [""]
    # Title and statistics above the panel, where no curve can run through them.
    header_mm = 2.0 + 3.6 * len(title_lines) + 2.9 * len(stats_lines) + 2.0
    height_mm = 52.0 + risk_mm + header_mm
    fig = _figure(width_mm, height_mm)
    with plt.rc_context(style.RC):
        left, right = 0.16, 0.96
        bottom = (risk_mm + 11.0) / height_mm
        top_edge = 1 - header_mm / height_mm
        ax = fig.add_axes((left, bottom, right - left, top_edge - bottom))
        t_max = max((p["t"] for s in series for p in s["curve"]), default=1.0) or 1.0
        step = _month_step(t_max, at_risk_step)
        single = n_rows == 1
        for i, s in enumerate(series):
            colour = style.SINGLE if single else style.COLOURS[i % len(style.COLOURS)]
            ts, ss = _step_values(s["curve"], "s")
            if ci_band:
                _t, lo = _step_values(s["curve"], "lo")
                _t, hi = _step_values(s["curve"], "hi")
                ax.fill_between(ts, lo, hi, step="post", color=colour, alpha=0.12, linewidth=0)
            ax.step(ts, ss, where="post", color=colour, linewidth=1.0, label=s["label"])
            marks = s.get("censored") or []
            if marks:
                ax.plot(
                    [m[0] for m in marks],
                    [m[1] for m in marks],
                    linestyle="none",
                    marker="|",
                    markersize=3.5,
                    markeredgewidth=0.6,
                    color=colour,
                )
            med = s.get("median")
            if med is not None:
                ax.plot([0, med, med], [0.5, 0.5, 0], color=colour, linewidth=0.5, linestyle=":")
        ax.set_xlim(0, t_max * 1.02)
        ax.set_ylim(0, 1.03)
        ax.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        ax.set_yticklabels(["0", "25", "50", "75", "100"])
        ax.set_ylabel(ylabel)
        ax.set_xlabel(_("Months since start of second-line treatment"))
        ticks = [k * step for k in range(int(t_max // step) + 1)]
        ax.set_xticks(ticks)
        ax.set_xticklabels([f"{t:g}" for t in ticks])
        fig.text(0.01, 1 - 1.5 / height_mm, "\n".join(title_lines), fontweight="bold", va="top")
        stats_top = 1 - (2.0 + 3.6 * len(title_lines)) / height_mm
        for k, line in enumerate(stats_lines):
            fig.text(
                0.01,
                stats_top - 2.9 * k / height_mm,
                line,
                va="top",
                fontsize=style.FONT_PT - 1.5,
            )
        if not single:
            ax.legend(loc="lower left", handlelength=1.4, borderaxespad=0.2)
        # Numbers at risk: x in data units (under the ticks), y in figure units.
        blend = transforms.blended_transform_factory(ax.transData, fig.transFigure)
        y0 = (risk_mm + 0.5) / height_mm
        fig.text(0.01, y0, _("No. at risk"), fontweight="bold", fontsize=style.FONT_PT - 1)
        for i, s in enumerate(series):
            y = y0 - (3.2 * (i + 1)) / height_mm
            colour = style.SINGLE if single else style.COLOURS[i % len(style.COLOURS)]
            if not single:
                # The legend names the groups; a line of the group's colour marks its row.
                fig.lines.append(
                    matplotlib.lines.Line2D(
                        [0.03, 0.09],
                        [y, y],
                        color=colour,
                        linewidth=1.4,
                        transform=fig.transFigure,
                    )
                )
            for t in ticks:
                fig.text(
                    t,
                    y,
                    str(_at_risk_at(s, t)),
                    fontsize=style.FONT_PT - 1.5,
                    ha="center",
                    va="center",
                    transform=blend,
                    color=colour,
                )
        _footer(fig, footer)
    return fig


def _log_ticks(lo: float, hi: float) -> list[float]:
    candidates = [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 4.0, 10.0, 20.0, 100.0, 1000.0]
    ticks = [t for t in candidates if lo <= t <= hi]
    if len(ticks) > 7:
        ticks = [t for t in ticks if t in (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)]
    return ticks


def forest_figure(rows: list[dict], *, title: str, event: str, footer: str) -> Figure:
    """Hazard ratios on a log axis with aligned columns n, events, HR (95% CI), p.

    rows: {"label", "n", "events", "hr", "ci", "p", "kind": "header"|"term"|"firth"}; a
    "firth" row is the penalized estimate of the term above it (marked †).
    """
    n = len(rows)
    height_mm = 22.0 + 4.2 * n
    width_mm = style.DOUBLE_COLUMN_MM
    fig = _figure(width_mm, height_mm)
    with plt.rc_context(style.RC):
        plot_left, plot_right = 0.69, 0.97
        bottom = 14.0 / height_mm
        top_edge = 1 - 8.0 / height_mm
        ax = fig.add_axes((plot_left, bottom, plot_right - plot_left, top_edge - bottom))
        finite = [
            v
            for r in rows
            if r.get("hr") is not None
            for v in (r["hr"], *(r.get("ci") or []))
            if v is not None and v > 0 and math.isfinite(v)
        ]
        lo = min([*finite, 0.5]) / 1.5
        hi = max([*finite, 2.0]) * 1.5
        blend = transforms.blended_transform_factory(fig.transFigure, ax.transData)
        columns = [
            (0.01, "left", _("Variable")),
            (0.355, "right", _("n")),
            (0.43, "right", _("Events")),
            (0.45, "left", _("HR (95% CI)")),
            (0.665, "right", _("p")),
        ]
        header_y = n - 0.2
        for x, ha, text in columns:
            fig.text(x, header_y, text, transform=blend, ha=ha, va="bottom", fontweight="bold")
        for i, r in enumerate(rows):
            y = n - 1 - i
            kind = r.get("kind", "term")
            if kind == "header":
                fig.text(0.01, y, r["label"], transform=blend, va="center", fontweight="bold")
                continue
            firth = kind == "firth"
            colour = style.COLOURS[1] if firth else style.SINGLE
            label = ("   " if firth else "  ") + r["label"]
            cells = [
                (0.01, "left", label[:46]),
                (0.355, "right", "" if firth else str(r.get("n", ""))),
                (0.43, "right", "" if firth else str(r.get("events", ""))),
                (0.45, "left", fmt_hr_ci(r.get("hr"), r.get("ci")) + (" †" if firth else "")),
                (0.665, "right", fmt_p(r.get("p"))),
            ]
            for x, ha, text in cells:
                fig.text(
                    x,
                    y,
                    text,
                    transform=blend,
                    ha=ha,
                    va="center",
                    color=colour,
                    fontsize=style.FONT_PT - 1,
                )
            if r.get("hr") is None:
                continue
            ci_lo, ci_hi = (r.get("ci") or [None, None])[:2]
            ci_lo = ci_lo if ci_lo is not None else lo
            ci_hi = ci_hi if ci_hi is not None else hi
            ax.plot([ci_lo, ci_hi], [y, y], color=colour, linewidth=0.9)
            ax.plot(
                [r["hr"]],
                [y],
                marker="D" if firth else "s",
                color=colour,
                markersize=3.2,
                linestyle="none",
            )
        ax.axvline(1.0, color=style.MUTED, linewidth=0.6, linestyle="--")
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ax.xaxis.set_major_locator(FixedLocator(_log_ticks(lo, hi)))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
        ax.set_xlabel(_("Hazard ratio of %(event)s (95%% CI), log scale") % {"event": event})
        # Direction labels on the header row, over the plot: they read with the columns.
        along = ax.transData
        below = header_y
        ax.text(
            1 / 1.1,
            below,
            "\u2190 " + _("lower hazard"),
            transform=along,
            ha="right",
            va="bottom",
            fontsize=style.FONT_PT - 2,
            color=style.MUTED,
        )
        ax.text(
            1.1,
            below,
            _("higher hazard") + " \u2192",
            transform=along,
            ha="left",
            va="bottom",
            fontsize=style.FONT_PT - 2,
            color=style.MUTED,
        )
        fig.text(0.01, 1 - 1.5 / height_mm, title, fontweight="bold", va="top")
        if any(r.get("kind") == "firth" for r in rows):
            fig.text(
                0.01,
                5.5 / height_mm,
                "† " + _("Firth-penalized estimate (profile penalized-likelihood CI)"),
                fontsize=style.FONT_PT - 2,
                color=style.COLOURS[1],
            )
        _footer(fig, footer)
    return fig


def waterfall_figure(
    dpr: np.ndarray, group: np.ndarray, group_labels: list[str], *, title: str, footer: str
) -> Figure:
    """Depth of response per patient, largest shrinkage first, coloured by group (0/1/NaN).

    dpr: % maximum shrinkage of the target sum (negative = growth). Up to
    WATERFALL_BARS_MAX patients one bar each in one ordering; beyond, bars would be thinner
    than a hairline and one colour would hide the other, so each group gets its own ordered
    profile side by side (group 1, then group 0), drawn as a filled outline.
    """
    ok = ~np.isnan(dpr)
    values, groups = dpr[ok], group[ok]
    fig = _figure(style.SINGLE_COLUMN_MM, 62.0)
    with plt.rc_context(style.RC):
        ax = fig.add_axes((0.17, 0.2, 0.8, 0.66))
        parts = [
            (1.0, style.COLOURS[0], group_labels[1]),
            (0.0, style.COLOURS[1], group_labels[0]),
        ]
        if len(values) <= WATERFALL_BARS_MAX:
            order = np.argsort(-values, kind="stable")
            values, groups = values[order], groups[order]
            x = np.arange(len(values))
            for value, colour, name in parts:
                sel = groups == value
                ax.bar(x[sel], values[sel], width=0.8, color=colour, label=name, linewidth=0)
            missing = np.isnan(groups)
            if missing.any():
                ax.bar(x[missing], values[missing], width=0.8, color="#999999", label=_("Unknown"))
            width = len(values)
        else:
            start = 0
            gap = max(len(values) // 50, 1)
            for value, colour, name in parts:
                own = np.sort(values[groups == value])[::-1]
                x = np.arange(start, start + len(own))
                ax.fill_between(x, 0, own, color=colour, label=name, linewidth=0)
                start += len(own) + gap
            width = start - gap
        ax.axhline(0, color=style.SINGLE, linewidth=0.5)
        ax.axhline(30, color=style.MUTED, linewidth=0.5, linestyle="--")
        ax.text(
            width - 0.5,
            31,
            _("30% (partial response)"),
            ha="right",
            va="bottom",
            fontsize=style.FONT_PT - 2,
            color=style.MUTED,
        )
        ax.set_xlim(-0.8, max(width - 0.2, 1))
        ax.set_xticks([])
        ax.set_xlabel(_("Patients, ordered by depth of response (n = %(n)d)") % {"n": len(values)})
        ax.set_ylabel(_("Depth of response, %"))
        ax.legend(loc="upper right", handlelength=1.0)
        fig.text(0.01, 0.985, title, fontweight="bold", va="top")
        _footer(fig, footer)
    return fig


def swimmer_figure(
    lanes: list[dict], *, title: str, footer: str, n_total: int, note: str = ""
) -> Figure:
    """One lane per patient: second-line treatment duration as a bar, with progression (▲),
    death (✕) and ongoing treatment (→) markers.

    lanes: [{"months", "ongoing", "progression": float|None, "death": float|None}], longest
    first; at most SWIMMER_MAX are drawn (the longest), the footnote says how many of how many.
    """
    lanes = lanes[:SWIMMER_MAX]
    n = len(lanes)
    height_mm = 28.0 + 2.4 * max(n, 4)
    fig = _figure(style.SINGLE_COLUMN_MM, height_mm)
    with plt.rc_context(style.RC):
        ax = fig.add_axes((0.1, 16.0 / height_mm, 0.86, 1 - 26.0 / height_mm))
        x_max = max(
            [
                1.0,
                *[
                    max(v for v in (ln["months"], ln.get("death") or 0, ln.get("progression") or 0))
                    for ln in lanes
                ],
            ]
        )
        for i, lane in enumerate(lanes):
            y = n - 1 - i
            ax.barh(y, lane["months"], height=0.6, color=style.COLOURS[0], linewidth=0)
            if lane.get("progression") is not None:
                ax.plot(
                    lane["progression"],
                    y,
                    marker="^",
                    color=style.COLOURS[1],
                    markersize=3.2,
                    linestyle="none",
                )
            if lane.get("death") is not None:
                ax.plot(
                    lane["death"],
                    y,
                    marker="x",
                    color=style.SINGLE,
                    markersize=3.2,
                    markeredgewidth=0.8,
                    linestyle="none",
                )
            if lane.get("ongoing"):
                ax.annotate(
                    "",
                    xy=(lane["months"] + x_max * 0.04, y),
                    xytext=(lane["months"], y),
                    arrowprops={"arrowstyle": "->", "linewidth": 0.7, "color": style.COLOURS[2]},
                )
        ax.set_ylim(-0.8, n - 0.2)
        ax.set_yticks([])
        ax.set_xlim(0, x_max * 1.08)
        ax.set_xlabel(_("Months since start of second-line treatment"))
        handles = [
            plt.Line2D([], [], color=style.COLOURS[0], linewidth=4, label=_("On treatment")),
            plt.Line2D(
                [], [], color=style.COLOURS[1], marker="^", linestyle="none", label=_("Progression")
            ),
            plt.Line2D([], [], color=style.SINGLE, marker="x", linestyle="none", label=_("Death")),
            plt.Line2D(
                [],
                [],
                color=style.COLOURS[2],
                marker=r"$\rightarrow$",
                linestyle="none",
                label=_("Ongoing"),
            ),
        ]
        ax.legend(handles=handles, loc="lower right", fontsize=style.FONT_PT - 2, ncol=2)
        fig.text(0.01, 1 - 1.5 / height_mm, title, fontweight="bold", va="top")
        if n < n_total:
            note += " " + _("The %(n)d longest of %(total)d patients.") % {
                "n": n,
                "total": n_total,
            }
        if note:
            fig.text(0.01, 5.0 / height_mm, note, fontsize=style.FONT_PT - 2, color=style.MUTED)
        _footer(fig, footer)
    return fig


def _box_mm(text: str) -> float:
    """Height of a flow box in mm: 3.6 mm a line of 7 pt text, 1.5 mm padding each side."""
    return 3.6 * (text.count("\n") + 1) + 3.0


def flow_figure(steps: list[dict], *, title: str, footer: str) -> Figure:
    """A STROBE/CONSORT-style flow: main boxes top to bottom, exclusions to the right.

    steps: [{"text": main box text, "side": side box text or ""}]; the last step may hold
    several boxes in "split" (one per endpoint). Each gap is as tall as its side box needs.
    """
    heights = [max(_box_mm(t) for t in (step.get("split") or [step["text"]])) for step in steps]
    gaps = [max(_box_mm(step["side"]) + 4.0, 9.0) if step.get("side") else 9.0 for step in steps]
    height_mm = 14.0 + sum(heights) + sum(gaps[:-1]) + 8.0
    fig = _figure(style.DOUBLE_COLUMN_MM * 0.8, height_mm)
    with plt.rc_context(style.RC):
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, height_mm)
        ax.axis("off")

        def box(x: float, y: float, w: float, text: str) -> None:
            h = _box_mm(text)
            ax.add_patch(
                Rectangle(
                    (x, y - h / 2), w, h, facecolor="white", edgecolor=style.SINGLE, linewidth=0.6
                )
            )
            ax.text(
                x + w / 2,
                y,
                text,
                ha="center",
                va="center",
                fontsize=style.FONT_PT - 1,
                linespacing=1.25,
            )

        # Box centres from the top: each box, then the gap where its exclusion box sits.
        ys, top = [], height_mm - 14.0
        for h, gap in zip(heights, gaps, strict=True):
            ys.append(top - h / 2)
            top -= h + gap
        for i, step in enumerate(steps):
            y = ys[i]
            split = step.get("split")
            if split:
                w = 0.86 / len(split) - 0.02
                for j, text in enumerate(split):
                    box(0.05 + j * (w + 0.02), y, w, text)
            else:
                box(0.05, y, 0.42, step["text"])
            bottom = y - heights[i] / 2
            if step.get("side"):
                mid = bottom - gaps[i] / 2
                ax.annotate(
                    "",
                    xy=(0.53, mid),
                    xytext=(0.26, mid),
                    arrowprops={"arrowstyle": "->", "linewidth": 0.6},
                )
                box(0.53, mid, 0.44, step["side"])
            if i + 1 < len(steps):
                ax.annotate(
                    "",
                    xy=(0.26, ys[i + 1] + heights[i + 1] / 2),
                    xytext=(0.26, bottom),
                    arrowprops={"arrowstyle": "->", "linewidth": 0.6},
                )
        ax.text(0.01, height_mm - 2, title, fontweight="bold", va="top")
        _footer(fig, footer)
    return fig
