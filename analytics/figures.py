"""Journal-style figures from a result bundle, rendered server-side to SVG.

matplotlib's Agg backend (no display needed on a server); text stays text in the SVG
(svg.fonttype none) so figures are small and crisp at any zoom. Every word is translated in
the active language (gettext), so a figure is drawn once per run and language and kept as a
file (analytics.figure_files).
"""

from __future__ import annotations

import html
import io
import math
import re

import matplotlib

matplotlib.use("Agg")

from django.utils.translation import gettext as _  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib import transforms  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator  # noqa: E402

from analytics.fonts import family_with_fallback  # noqa: E402

STYLE = {
    # Chinese glyphs from the CJK font, everything else from DejaVu Sans (analytics.fonts).
    "font.family": family_with_fallback("DejaVu Sans"),
    "font.size": 8.5,
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.labelsize": 8.5,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "xtick.major.width": 0.8,
    "ytick.major.width": 0.8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "svg.fonttype": "none",
    "svg.hashsalt": "registry",  # stable ids: the same bundle gives the same SVG bytes
}
# Colour-blind-safe (Okabe–Ito): dark blue and vermilion, then black for a single curve.
COLOURS = ["#0b4f8a", "#c0392b", "#2e7d32", "#6a3d9a"]


_STYLE_ATTRIBUTE = re.compile(r'\sstyle="([^"]*)"')
_STYLE_ELEMENT = re.compile(r"<style[^>]*>.*?</style>", re.S)


def _as_presentation_attributes(match: re.Match) -> str:
    attributes = []
    for declaration in match.group(1).split(";"):
        name, _sep, value = declaration.partition(":")
        if name.strip() and value.strip():
            attributes.append(f' {name.strip()}="{html.escape(value.strip(), quote=True)}"')
    return "".join(attributes)


def csp_safe_svg(text: str) -> str:
    """Matplotlib's SVG with its inline styles turned into SVG presentation attributes.

    Matplotlib writes ``style="fill: …; stroke: …"`` on every shape and text and a <style>
    element for line joins. The pages' Content Security Policy allows no inline style, so a
    browser ignores all of them and draws every shape black. Presentation attributes
    (``fill="…"``) carry the same properties and are not styles to the CSP.
    """
    text = _STYLE_ELEMENT.sub("", text)
    text = _STYLE_ATTRIBUTE.sub(_as_presentation_attributes, text)
    # What the dropped <style> said for every element ("*{stroke-linejoin: round; …}"),
    # inherited from the root instead.
    return text.replace("<svg", '<svg stroke-linejoin="round" stroke-linecap="butt"', 1)


def _svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)
    text = buf.getvalue()
    text = text[text.index("<svg") :]
    # Let CSS size the figure; the viewBox keeps its proportions.
    text = re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r"<svg\1", text, count=1)
    return csp_safe_svg(text)


def _step(curve: list[dict], key: str) -> tuple[list[float], list[float]]:
    ts = [p["t"] for p in curve]
    vs = [p[key] if p[key] is not None else math.nan for p in curve]
    return ts, vs


def _month_ticks(t_max: float) -> float:
    for step in (3, 6, 12, 24, 60):
        if t_max / step <= 10:
            return float(step)
    return 120.0


def km_figure(
    series: list[dict],
    *,
    title: str,
    ylabel: str,
    note: str = "",
    at_risk_step: float | None = None,
) -> str:
    """Step curves with censoring ticks, shaded pointwise CI bands and a numbers-at-risk
    table under the axis.

    series: [{"label", "curve": [{"t","s","lo","hi","at_risk"}], "at_risk": [{"t","n"}],
    "censored": [[t, s], …]}].
    """
    with plt.rc_context(STYLE):
        n_rows = len(series)
        height = 3.4 + 0.17 * n_rows
        fig = plt.figure(figsize=(5.6, height))
        table_h = (0.45 + 0.17 * n_rows) / height
        top = fig.add_axes((0.2, table_h + 0.1, 0.76, 0.86 - table_h - 0.2))
        t_max = max((p["t"] for s in series for p in s["curve"]), default=1.0) or 1.0
        step = max(at_risk_step or 0, _month_ticks(t_max))
        single = n_rows == 1
        for i, s in enumerate(series):
            colour = "#1d2733" if single else COLOURS[i % len(COLOURS)]
            ts, ss = _step(s["curve"], "s")
            _t, lo = _step(s["curve"], "lo")
            _t, hi = _step(s["curve"], "hi")
            top.fill_between(ts, lo, hi, step="post", color=colour, alpha=0.13, linewidth=0)
            top.step(ts, ss, where="post", color=colour, linewidth=1.4, label=s["label"])
            marks = s.get("censored") or []
            if marks:
                top.plot(
                    [m[0] for m in marks],
                    [m[1] for m in marks],
                    linestyle="none",
                    marker="|",
                    markersize=5,
                    markeredgewidth=0.9,
                    color=colour,
                )
        top.set_xlim(0, t_max * 1.02)
        top.set_ylim(0, 1.02)
        top.set_yticks([0, 0.25, 0.5, 0.75, 1.0])
        top.set_yticklabels(["0", "25", "50", "75", "100"])
        top.set_ylabel(ylabel)
        top.set_xlabel(_("Months since start of second-line treatment"))
        ticks = [k * step for k in range(int(t_max // step) + 1)]
        top.set_xticks(ticks)
        top.set_xticklabels([f"{t:g}" for t in ticks])
        top.text(0, 1.13, title, transform=top.transAxes, fontsize=9.5, fontweight="bold")
        if note:
            top.text(0, 1.03, note, transform=top.transAxes, fontsize=7.8, color="#374151")
        if not single:
            top.legend(
                loc="upper right", handlelength=1.6, frameon=True, framealpha=0.9, edgecolor="none"
            )
        # Numbers at risk under the axis: x in data units (aligned with the ticks), y in
        # figure units, one row per curve.
        blend = transforms.blended_transform_factory(top.transData, fig.transFigure)
        fig.text(0.01, table_h - 0.02, _("No. at risk"), fontsize=7.8, fontweight="bold")
        for i, s in enumerate(series):
            y = table_h - 0.02 - (0.17 * (i + 1) + 0.05) / height
            colour = "#1d2733" if single else COLOURS[i % len(COLOURS)]
            if not single:
                fig.text(0.01, y, s["label"][:16], fontsize=7.2, color=colour, va="center")
            for t in ticks:
                fig.text(
                    t,
                    y,
                    str(_at_risk_at(s, t)),
                    fontsize=7.5,
                    ha="center",
                    va="center",
                    transform=blend,
                )
        return _svg(fig)


def _at_risk_at(series: dict, t: float) -> int:
    """n at risk at time t: the number with time >= t (from the curve's at-risk counts)."""
    for row in series.get("at_risk") or []:
        if abs(row["t"] - t) < 1e-9:
            return int(row["n"])
    # Between curve vertices: the at-risk count of the first vertex at or after t.
    curve = series["curve"]
    later = [p for p in curve[1:] if p["t"] >= t]
    if later:
        return int(later[0]["at_risk"])
    return 0


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Decades, plus 0.5 and 2 when the range is narrow enough for them to be read."""
    decades = [10.0**k for k in range(-3, 4)]
    extra = [0.25, 0.5, 2.0, 4.0] if hi / lo < 300 else []
    return sorted(t for t in decades + extra if lo <= t <= hi)


def forest_figure(rows: list[dict], *, title: str, event: str) -> str:
    """Hazard ratios with 95% CIs on a log axis; rows: {"label","hr","ci","kind","flag"}."""
    with plt.rc_context(STYLE):
        n = len(rows)
        height = 1.25 + 0.22 * n
        fig = plt.figure(figsize=(6.4, height))
        ax = fig.add_axes((0.42, 0.75 / height, 0.55, 1 - 1.05 / height))
        finite = [v for r in rows if r["hr"] is not None for v in (*r["ci"], r["hr"]) if v]
        lo = min([*finite, 0.5]) / 1.4
        hi = max([*finite, 2.0]) * 1.4
        for i, r in enumerate(rows):
            y = n - 1 - i
            multi = r["kind"] != "univariate"
            colour = COLOURS[1] if multi else "#1d2733"
            label = _("Multivariable: %(label)s") % {"label": r["label"]} if multi else r["label"]
            ax.text(
                -0.02,
                y,
                label[:46],
                transform=ax.get_yaxis_transform(),
                ha="right",
                va="center",
                fontsize=7.8,
                color=colour,
            )
            if r["hr"] is None:
                ax.text(
                    1.0,
                    y,
                    _("not estimable"),
                    ha="center",
                    va="center",
                    fontsize=7.5,
                    color="#6b7280",
                    style="italic",
                )
                continue
            ci_lo, ci_hi = r["ci"]
            ax.plot([ci_lo, ci_hi], [y, y], color=colour, linewidth=1.1)
            ax.plot([r["hr"]], [y], marker="s" if multi else "o", color=colour, markersize=4.2)
            if r.get("flag"):
                ax.text(
                    ci_hi * 1.12,
                    y,
                    "!",
                    va="center",
                    fontsize=8.5,
                    fontweight="bold",
                    color=COLOURS[1],
                )
        ax.axvline(1.0, color="#6b7280", linewidth=0.8, linestyle="--")
        ax.set_xscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_yticks([])
        ax.spines["left"].set_visible(False)
        ticks = _log_ticks(lo, hi)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.set_xlabel(_("Hazard ratio (95% CI), log scale"), labelpad=16)
        # Direction under the axis, between the tick labels and the axis title.
        below = -0.2 / (height - 1.05)
        along = ax.get_xaxis_transform()
        ax.text(
            1.0 / 1.08,
            below,
            "\u2190 " + _("lower hazard of %(event)s") % {"event": event},
            transform=along,
            ha="right",
            va="top",
            fontsize=7.5,
            color="#374151",
        )
        ax.text(
            1.08,
            below,
            _("higher hazard of %(event)s") % {"event": event} + " \u2192",
            transform=along,
            ha="left",
            va="top",
            fontsize=7.5,
            color="#374151",
        )
        fig.text(0.01, 1 - 0.18 / height, title, fontsize=9.5, fontweight="bold", va="top")
        return _svg(fig)
