"""The dashboard's display rules of issue 12: median CIs never below 0, intervals and group
labels in words, censoring ticks on the curves."""

from __future__ import annotations

import copy
import re

import numpy as np
import pytest
from django.urls import reverse

from analytics import labels, presenters
from analytics.curves import censor_marks
from tests.factories import TEST_PASSWORD


def test_a_negative_lower_limit_is_shown_as_zero_and_flagged():
    assert presenters.fmt_median_ci([-1.26, 12.56]) == "0.00*–12.56"
    assert presenters.fmt_median_ci([1.15, 6.98]) == "1.15–6.98"
    assert presenters.km_clipped({"km": {"pfs": {"ci": [-1.26, 12.56]}}})
    assert not presenters.km_clipped({"km": {"pfs": {"ci": [1.15, 6.98]}}})


def test_clipped_interval_reaches_the_figure_note_but_the_bundle_keeps_the_raw_value(demo):
    _, bundle = demo
    bundle = copy.deepcopy(bundle)
    bundle["km"]["pfs"]["ci"] = [-1.26, 12.56]
    svg = presenters.draw_figure(bundle, "km-pfs")
    assert "0.00*–12.56" in svg and "-1.26" not in svg
    assert bundle["km"]["pfs"]["ci"][0] == -1.26


def test_interval_methods_and_group_labels_are_words():
    assert labels.ci_method_label("spss") == "SPSS-compatible (symmetric)"
    assert labels.in_words("DpR >= median") == "Depth of response ≥ median"
    assert labels.in_words("LTR vs STR") == "Long-term responders vs short-term responders"
    assert labels.in_words("2L anti-angiogenic") == "Second-line anti-angiogenic"
    assert labels.in_words("STRONG") == "STRONG"


def test_censoring_ticks_sit_on_the_curve_at_each_censored_time():
    # times 1..6, censored at 2 and 5: S(2) = 5/6 (one death at 1), S(5) = 5/6·3/4·2/3
    t = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    e = np.array([1, 0, 1, 1, 0, 1])
    curve = [
        {"t": 0.0, "s": 1.0},
        {"t": 1.0, "s": 5 / 6},
        {"t": 3.0, "s": 5 / 6 * 3 / 4},
        {"t": 4.0, "s": 5 / 6 * 3 / 4 * 2 / 3},
        {"t": 6.0, "s": 0.0},
    ]
    marks = censor_marks(t, e, curve)
    assert [m[0] for m in marks] == [2.0, 5.0]
    assert marks[0][1] == pytest.approx(5 / 6)
    assert marks[1][1] == pytest.approx(5 / 6 * 3 / 4 * 2 / 3)


def test_dashboard_km_figures_draw_the_censoring_ticks(demo):
    patients, bundle = demo
    n_censored = int((patients["os_event"] == 0).sum())
    marks = bundle["km"]["os"]["censored"]
    assert 0 < len(marks) <= n_censored
    svg = presenters.draw_figure(bundle, "km-os")
    # one '|' marker path centred on the point (tick marks of the axes start at 0), used
    # once per censoring tick (<use xlink:href=…> per point)
    marker = re.search(r'<path id="(m[0-9a-f]+)" d="M 0 ([\d.]+) \nL 0 -\2 ', svg)
    assert marker is not None
    assert svg.count(f'xlink:href="#{marker.group(1)}"') == len(marks)


def test_subgroup_legends_spell_out_the_groups(demo):
    _, bundle = demo
    sub = presenters.draw_figure(bundle, "subgroup-ltr-os")
    assert "Long-term responders" in sub and "Short-term responders" in sub
    assert "by long-term responders vs short-term responders" in sub


def test_dashboard_caption_and_plan_page_name_the_interval_in_words(client, pi_user, finished_run):
    assert client.login(username=pi_user.username, password=TEST_PASSWORD)
    text = client.get(reverse("analytics:dashboard")).content.decode()
    assert "SPSS-compatible (symmetric) interval" in text and "(spss)" not in text
    assert "ticks: censored patients" in text
    plan_page = client.get(reverse("analytics:plan")).content.decode()
    assert "SPSS-compatible (symmetric)" in plan_page and "the default, as R survival" in plan_page
