"""The pack's figures hold the bundle's numbers as text (SVG keeps text as text)."""

from __future__ import annotations

import copy
import io
import re

from PIL import Image

from analytics.manuscript import PackTables, manuscript_files


def _svg(pack: dict, name: str) -> str:
    return pack[f"figures/{name}.svg"].decode()


def test_every_figure_comes_as_svg_png_at_300_dpi_and_pdf(demo_pack):
    names = {n.rsplit(".", 1)[0] for n in demo_pack if n.startswith("figures/")}
    assert {
        "figures/figure-1a-km-os",
        "figures/figure-1b-km-pfs",
        "figures/figure-2a-km-os-by-ltr",
        "figures/figure-3-forest",
        "figures/figure-s1-waterfall",
        "figures/figure-s2-swimmer",
        "figures/figure-s3-flow",
    } <= names
    for name in names:
        assert demo_pack[f"{name}.svg"].lstrip().startswith(b"<?xml")
        assert demo_pack[f"{name}.pdf"].startswith(b"%PDF")
        dpi = Image.open(io.BytesIO(demo_pack[f"{name}.png"])).info["dpi"]
        assert round(dpi[0]) == 300


def test_km_figure_holds_numbers_at_risk_median_and_footer(demo_pack, demo_bundle):
    svg = _svg(demo_pack, "figure-1a-km-os")
    os_entry = demo_bundle["km"]["os"]
    texts = re.findall(r">([^<>]*)</text>", svg)
    ticks = texts[: texts.index("Months since start of second-line treatment")]
    # the row under the axis: the bundle's at-risk counts at each x tick, in order
    at = {row["t"]: row["n"] for row in os_entry["at_risk"]}
    start = texts.index("No. at risk") + 1
    assert texts[start : start + len(ticks)] == [str(at[float(t)]) for t in ticks]
    assert texts[start] == "28"
    assert f"Median {os_entry['median']:.2f}" in svg
    assert f"{os_entry['events']} events in {os_entry['n']} patients" in svg
    assert "Manuscript test cut" in svg
    assert demo_bundle["dataset_sha256"][:16] in svg
    assert "Months since start of second-line treatment" in svg


def test_subgroup_figure_spells_out_groups_and_shows_hr_and_log_rank(demo_pack, demo_bundle):
    svg = _svg(demo_pack, "figure-2a-km-os-by-ltr")
    assert "Long-term responders" in svg and "Short-term responders" in svg
    assert ">LTR<" not in svg and ">STR<" not in svg
    ltr = next(u for u in demo_bundle["cox"]["univariate"] if u["key"] == "ltr")
    hr, (lo, hi) = ltr["hr"], ltr["ci"]
    assert f"HR {hr:.2f} ({lo:.2f}–{hi:.2f})" in svg
    sub = next(s for s in demo_bundle["subgroups"] if (s["key"], s["endpoint"]) == ("ltr", "os"))
    assert f"Log-rank p = {sub['logrank']['p']:.3f}" in svg


def test_forest_plot_has_columns_reference_direction_and_firth_marks(demo_pack, demo_bundle):
    svg = _svg(demo_pack, "figure-3-forest")
    for column in ("Variable", "Events", "HR (95% CI)"):
        assert column in svg
    for u in demo_bundle["cox"]["univariate"]:
        lo, hi = u["ci"]
        assert f"{u['hr']:.2f} ({lo:.2f}–{hi:.2f})" in svg, u["key"]
    # the demo's multivariable model has a near-separated term: every term has a Firth row
    firth = demo_bundle["cox"]["multivariable"]["terms"][0]["firth"]
    assert f"{firth['hr']:.2f} ({firth['ci'][0]:.2f}–{firth['ci'][1]:.2f}) †" in svg
    assert "Firth-penalized" in svg
    assert "lower hazard" in svg and "higher hazard" in svg
    assert "log scale" in svg
    assert "DpR" not in svg and "dpr_hi" not in svg


def test_waterfall_swimmer_and_flow_hold_their_words_and_counts(demo_pack):
    waterfall = _svg(demo_pack, "figure-s1-waterfall")
    assert "Long-term responders" in waterfall and "(n = 28)" in waterfall
    swimmer = _svg(demo_pack, "figure-s2-swimmer")
    for word in ("Progression", "Death", "Ongoing"):
        assert word in swimmer
    flow = _svg(demo_pack, "figure-s3-flow")
    for text in (
        "(n = 31)",
        "Screen failures (n = 2)",
        "Inclusion 2: extensive stage: 2",
        "(n = 29)",
        "Analysed",
        "n = 28, events = 15",
    ):
        assert text in flow, text


def test_a_median_ci_below_zero_is_shown_as_zero_with_a_note(demo_bundle, demo_tables):
    bundle = copy.deepcopy(demo_bundle)
    bundle["km"]["pfs"]["ci"] = [-1.26, 12.56]  # a symmetric "spss" interval of a small cohort
    pack = manuscript_files(
        bundle,
        PackTables(demo_tables.patients, demo_tables.adverse_events, 28),
        label="cut",
        dataset_sha256="0" * 64,
        formats=("svg",),
    )
    svg = _svg(pack, "figure-1b-km-pfs")
    assert "0.00*–12.56" in svg and "-1.26" not in svg and "−1.26" not in svg
    assert "lower limit below 0, shown as 0" in svg


def test_the_confidence_band_is_optional(demo_pack, demo_bundle, demo_tables):
    assert "PolyCollection" in _svg(demo_pack, "figure-1a-km-os")
    pack = manuscript_files(
        demo_bundle,
        demo_tables,
        label="cut",
        dataset_sha256="0" * 64,
        formats=("svg",),
        ci_band=False,
    )
    assert "PolyCollection" not in _svg(pack, "figure-1a-km-os")
