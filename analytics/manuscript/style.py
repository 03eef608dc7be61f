"""The journal preset and the house rounding, shared by every figure and table of the pack.

Preset: sans-serif 8 pt, single column 89 mm, double column 183 mm (the widths most
clinical journals ask for); text stays text in SVG and PDF (fonttype 42) so an editor can
change it. Rounding: p < 0.001 below a thousandth, else three decimals; hazard ratios and
their limits two decimals; percentages one decimal; months two decimals.
"""

from __future__ import annotations

import math

from analytics.fonts import family_with_fallback

MM_PER_INCH = 25.4
SINGLE_COLUMN_MM = 89.0
DOUBLE_COLUMN_MM = 183.0
FONT_PT = 8.0
PNG_DPI = 300

RC = {
    # The journal's sans-serif for Latin text, the CJK font for Chinese (analytics.fonts).
    "font.family": family_with_fallback("sans-serif"),
    "font.sans-serif": ["Arial", "Helvetica", "DejaVu Sans"],
    "font.size": FONT_PT,
    "axes.titlesize": FONT_PT,
    "axes.labelsize": FONT_PT,
    "xtick.labelsize": FONT_PT - 1,
    "ytick.labelsize": FONT_PT - 1,
    "legend.fontsize": FONT_PT - 1,
    "legend.frameon": False,
    "axes.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "xtick.major.width": 0.6,
    "ytick.major.width": 0.6,
    "lines.linewidth": 1.0,
    "svg.fonttype": "none",
    "svg.hashsalt": "manuscript",  # the same bundle gives the same SVG bytes
    "pdf.fonttype": 42,
    "path.simplify": True,
}
# Okabe–Ito, colour-blind safe: blue and vermilion for two groups, black for one curve.
COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7"]
SINGLE = "#000000"
MUTED = "#555555"


def inches(mm: float) -> float:
    return mm / MM_PER_INCH


def _finite(v) -> bool:
    return v is not None and isinstance(v, (int, float)) and math.isfinite(v)


def fmt_p(p: float | None) -> str:
    """House rounding of a p-value: '< 0.001', else three decimals; '–' when absent."""
    if not _finite(p):
        return "–"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}"


def fmt_hr(hr: float | None) -> str:
    return f"{hr:.2f}" if _finite(hr) else "NE"


def fmt_hr_ci(hr: float | None, ci: list | None) -> str:
    """'0.12 (0.03–0.53)'; 'not estimable' without an estimate; NE for a missing limit."""
    if not _finite(hr):
        return "not estimable"
    lo, hi = (ci or [None, None])[:2]
    return f"{hr:.2f} ({fmt_hr(lo)}–{fmt_hr(hi)})"


def fmt_pct(pct: float | None) -> str:
    return f"{pct:.1f}" if _finite(pct) else "–"


def fmt_n_pct(n: int | None, pct: float | None) -> str:
    return "–" if n is None else f"{n} ({fmt_pct(pct)})"


def fmt_months(v: float | None) -> str:
    return f"{v:.2f}" if _finite(v) else "NR"


def clip_lower(ci: list | None) -> tuple[list, bool]:
    """A median's interval for display: below 0 months shown as 0 (contract §7)."""
    lo, hi = (ci or [None, None])[:2]
    if _finite(lo) and lo < 0:
        return [0.0, hi], True
    return [lo, hi], False


def fmt_median_ci(median: float | None, ci: list | None) -> tuple[str, bool]:
    """'18.86 (14.62–22.83)'; a lower limit below 0 as '0.00*'; returns (text, clipped)."""
    (lo, hi), clipped = clip_lower(ci)
    low = ("0.00*" if clipped else fmt_months(lo)) if lo is not None else "NE"
    high = fmt_months(hi) if hi is not None else "NE"
    return f"{fmt_months(median)} ({low}–{high})", clipped


def median_with_ci(median: float | None, ci: list | None) -> tuple[str, bool]:
    """'18.86 months (95% CI 15.34–22.38)' for a figure panel; returns (text, clipped)."""
    text, clipped = fmt_median_ci(median, ci)
    value, _, interval = text.partition(" (")
    return f"{value} months (95% CI {interval}", clipped
