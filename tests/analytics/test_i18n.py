"""The dashboard and its figures in Simplified Chinese (issue 15): the page in the reader's
language, Chinese figure text drawn with a CJK font (no missing glyphs), and English figures
when no CJK font is installed."""

from __future__ import annotations

import re
import warnings

import pytest
from django.urls import reverse
from django.utils import translation

from analytics import fonts, presenters
from tests.conftest import service_missing
from tests.factories import TEST_PASSWORD


@pytest.fixture(scope="module")
def bundle(demo):
    return demo[1]


@pytest.fixture
def cjk_font():
    """The CJK font figures need: skipped locally without it, a failure in CI."""
    if fonts.cjk_family() is None:
        service_missing("A CJK font (Debian fonts-noto-cjk)")
    return fonts.cjk_family()


def _chinese(client, user):
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _draw_without_glyph_warnings(bundle: dict, name: str) -> str:
    """One dashboard figure, failing on matplotlib's "Glyph … missing from font(s)" warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r".*[Gg]lyph .* missing")
        return presenters.draw_figure(bundle, name)


def test_a_chinese_pi_gets_the_dashboard_in_chinese(client, pi_user, finished_run, cjk_font):
    text = _chinese(client, pi_user).get(reverse("analytics:dashboard")).content.decode()
    for chinese in ("仪表板", "立即重新计算", "各中心入组情况", "运行历史", "已登记患者中已锁定"):
        assert chinese in text
    for english in (
        "Recompute now",
        "Enrolment by centre",
        "Run history",
        "registered patients locked",
        "Kaplan–Meier curve of",
    ):
        assert english not in text
    # The figures are files in the reader's language, described in it for screen readers.
    figure_url = reverse("analytics:run_figure", args=[finished_run.pk, "zh-hans", "km-os"])
    alt = re.search(rf'<img src="{re.escape(figure_url)}" alt="([^"]*)"', text).group(1)
    assert "总生存期" in alt and "Kaplan–Meier 曲线" in alt
    response = client.get(figure_url)
    svg = b"".join(response.streaming_content).decode()
    assert "自二线治疗开始的月数" in svg
    assert "Months since start of second-line treatment" not in svg


def test_the_status_words_of_the_script_come_translated_from_the_page(
    client, pi_user, finished_run
):
    text = _chinese(client, pi_user).get(reverse("analytics:dashboard")).content.decode()
    assert 'data-text-failed="运行 #{id} 失败：{error}"' in text
    assert 'data-text-idle="已是最新。"' in text


def test_a_chinese_figure_holds_the_chinese_labels_and_misses_no_glyph(bundle, cjk_font):
    with translation.override("zh-hans"):
        os_svg = _draw_without_glyph_warnings(bundle, "km-os")
        forest = _draw_without_glyph_warnings(bundle, "forest")
    assert "总生存期（OS）" in os_svg and "风险人数" in os_svg
    assert "Overall survival" not in os_svg and "No. at risk" not in os_svg
    assert "风险比（95% 置信区间），对数刻度" in forest
    # The browser showing the SVG is told to fall back to the same CJK font.
    assert f'font-family="&#x27;DejaVu Sans&#x27;, &#x27;{cjk_font}&#x27;"' in os_svg


def test_a_chinese_figure_renders_to_png_without_missing_glyphs(cjk_font):
    # The SVG keeps text as text; a raster needs the glyphs themselves, so draw one.
    import io

    from matplotlib import pyplot as plt

    from analytics.figures import STYLE

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r".*[Gg]lyph .* missing")
        with plt.rc_context(STYLE):
            fig = plt.figure()
            fig.text(0.1, 0.5, "总生存期（OS）≥ 中位数 · 风险人数")
            fig.savefig(io.BytesIO(), format="png")
            plt.close(fig)


def test_without_a_cjk_font_chinese_figures_are_drawn_in_english(bundle, monkeypatch):
    monkeypatch.setattr(fonts, "cjk_family", lambda: None)
    with translation.override("zh-hans"):
        os_svg = _draw_without_glyph_warnings(bundle, "km-os")
        assert translation.get_language() == "zh-hans"  # only the figures fell back
    assert "Months since start of second-line treatment" in os_svg
    assert "自二线治疗开始的月数" not in os_svg


def test_plan_form_errors_are_in_chinese(client, pi_user, demo_plan):
    response = _chinese(client, pi_user).post(reverse("analytics:plan"), {"plan": "{oops"})
    text = response.content.decode()
    assert "plan：JSON 无效" in text
    assert "invalid JSON" not in text
    assert "统计分析计划" in text and "另存为新版本" in text
