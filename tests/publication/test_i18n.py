"""The publication pack and data cuts in Simplified Chinese (issue 15): a Chinese PI gets
Chinese table headings and figure labels; what a cut freezes and its reproduction kit are
the same whatever the language of the PI."""

from __future__ import annotations

import warnings

import pytest
from django.urls import reverse
from django.utils import translation

from analytics import fonts
from analytics.manuscript import manuscript_files
from publication import kit, services
from tests import people
from tests.conftest import service_missing


@pytest.fixture
def cjk_font():
    if fonts.cjk_family() is None:
        service_missing("A CJK font (Debian fonts-noto-cjk)")


def _chinese(client, user):
    user.language = "zh-hans"
    user.save(update_fields=["language"])
    client.force_login(user)
    return client


def test_a_chinese_pi_gets_the_pack_page_in_chinese(client, pi_user, finished_run, cjk_font):
    text = _chinese(client, pi_user).get(reverse("publication:pack")).content.decode()
    assert "表 1. 二线治疗开始时的基线特征" in text
    assert "全部下载（ZIP）" in text and "统计分析（方法段落）" in text
    assert "Table 1. Baseline characteristics" not in text and "Download all" not in text


def test_a_chinese_pis_pack_figure_has_chinese_labels(client, pi_user, finished_run, cjk_font):
    _chinese(client, pi_user)
    url = reverse("publication:pack_file", args=["figures/figure-1a-km-os.svg"])
    svg = client.get(url).content.decode()
    assert "自二线治疗开始的月数" in svg and "风险人数" in svg
    assert "No. at risk" not in svg
    # An English PI asking next gets English figures, not the Chinese PI's cached ones.
    english = people.data_manager()
    # Same browser, whose language cookie now says Chinese: the account's English wins.
    english.language = "en-gb"
    english.save(update_fields=["language"])
    client.force_login(english)
    assert "No. at risk" in client.get(url).content.decode()


def test_pack_figures_in_chinese_miss_no_glyph(demo_bundle, demo_tables, cjk_font):
    with warnings.catch_warnings(), translation.override("zh-hans"):
        warnings.filterwarnings("error", message=r".*[Gg]lyph .* missing")
        files = manuscript_files(
            demo_bundle,
            demo_tables,
            label="数据截点 v1",
            dataset_sha256=demo_bundle["dataset_sha256"],
            formats=("svg", "png", "pdf"),
        )
    forest = files["figures/figure-3-forest.svg"].decode()
    assert "变量" in forest and "事件数" in forest
    assert files["figures/figure-1a-km-os.png"].startswith(b"\x89PNG")
    assert files["figures/figure-1a-km-os.pdf"].startswith(b"%PDF")


def test_a_cut_frozen_by_a_chinese_pi_is_the_data_an_english_pi_would_freeze(finished_run):
    pi = people.pi_user()
    with translation.override("zh-hans"):
        chinese = services.cut_freeze(user=pi, name="数据截点 v1")
    with translation.override("en-gb"):
        english = services.cut_freeze(user=pi, name="Manuscript v1")
    assert chinese.dataset_sha256 == english.dataset_sha256 == finished_run.dataset_sha256
    assert chinese.patients_csv == english.patients_csv
    assert chinese.bundle == english.bundle
    with translation.override("zh-hans"):
        kit_in_chinese = kit.kit_files(chinese)
    with translation.override("en-gb"):
        kit_in_english = kit.kit_files(chinese)
    assert kit_in_chinese == kit_in_english
