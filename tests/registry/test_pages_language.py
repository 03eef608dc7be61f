"""The registry's pages, messages and values in Simplified Chinese (docs/translation.md)."""

from datetime import UTC, date, datetime

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

from core.errors import ApplicationError
from registry import services
from registry.models import Baseline, Signature
from registry.presenters import value_text
from tests.builders import build_casebook, register_patient
from tests.factories import TEST_PASSWORD


@pytest.fixture
def chinese_coordinator(coordinator_a):
    coordinator_a.language = "zh-hans"
    coordinator_a.save(update_fields=["language"])
    return coordinator_a


@pytest.fixture
def chinese_investigator(investigator_a):
    investigator_a.language = "zh-hans"
    investigator_a.save(update_fields=["language"])
    return investigator_a


def test_casebook_page_is_chinese_for_a_chinese_user(client, chinese_coordinator):
    patient = build_casebook(chinese_coordinator)
    client.force_login(chinese_coordinator)
    page = client.get(reverse("registry:casebook", args=[patient.study_id])).content.decode()
    assert '<h2 class="small-head" id="derived-head">派生值</h2>' in page
    assert "将该部分标记为完成" in page
    assert "将病例档案标记为完成" in page
    # A part's status badge and the derived values' own words.
    assert ">未完成</span>" in page
    assert "缓解深度（DpR）" in page
    for english in ("Derived values", "Mark part complete", "Not entered yet", ">incomplete<"):
        assert english not in page


def test_dates_on_the_casebook_are_written_the_chinese_way(client, chinese_coordinator):
    patient = build_casebook(chinese_coordinator)
    client.force_login(chinese_coordinator)
    page = client.get(reverse("registry:casebook", args=[patient.study_id])).content.decode()
    day = patient.registration_date
    assert f"登记于 {day.year}年{day.month}月{day.day}日" in page
    assert day.isoformat() not in page


def test_value_text_writes_dates_as_the_reader_language_does():
    day = date(2024, 4, 3)
    with translation.override("en-gb"):
        assert value_text(Baseline, "diagnosis_date", day, True) == "3 Apr 2024"
        assert value_text(Baseline, "pack_years", None, True) == "—"
    with translation.override("zh-hans"):
        assert value_text(Baseline, "diagnosis_date", day, True) == "2024年4月3日"


def test_value_text_says_yes_and_no_in_chinese():
    with translation.override("zh-hans"):
        assert value_text(Baseline, "mets_brain", True, True) == "是"
        assert value_text(Baseline, "mets_brain", False, True) == "否"


def test_service_refusal_is_chinese(chinese_coordinator):
    patient = register_patient(chinese_coordinator)
    with translation.override("zh-hans"), pytest.raises(ApplicationError) as refused:
        services.section_mark_complete(
            user=chinese_coordinator, patient=patient, section="baseline"
        )
    assert refused.value.message.endswith("：尚未录入。")


def test_workflow_message_is_chinese_on_the_page(client, chinese_coordinator):
    patient = register_patient(chinese_coordinator)
    client.force_login(chinese_coordinator)
    url = reverse("registry:casebook_complete", args=[patient.study_id])
    page = client.post(url, follow=True).content.decode()
    assert "尚未录入。" in page
    assert "not entered" not in page


def test_sign_page_shows_the_statement_in_chinese_and_the_chinese_words_are_signed(
    client, chinese_investigator, coordinator_a
):
    patient = build_casebook(coordinator_a, complete=True)
    client.force_login(chinese_investigator)
    url = reverse("registry:sign", args=[patient.study_id])
    with translation.override("zh-hans"):
        statement = services.signature_statement()
    assert statement.startswith("本人确认已审阅本病例档案")
    page = client.get(url).content.decode()
    assert f'<blockquote class="statement" id="statement">{statement}</blockquote>' in page
    assert services.SIGNATURE_MEANING not in page
    response = client.post(url, {"password": TEST_PASSWORD, "meaning": statement, "confirm": "on"})
    assert response.status_code == 302
    assert Signature.objects.get(patient=patient).meaning == statement


def test_english_statement_is_still_accepted_from_a_chinese_reader(
    chinese_investigator, coordinator_a
):
    patient = build_casebook(coordinator_a, complete=True)
    with translation.override("zh-hans"):
        services.casebook_lock(
            user=chinese_investigator,
            patient=patient,
            password=TEST_PASSWORD,
            meaning=services.SIGNATURE_MEANING,
        )
    assert Signature.objects.get(patient=patient).meaning == services.SIGNATURE_MEANING


def test_a_statement_in_no_registry_language_is_refused(chinese_investigator, coordinator_a):
    patient = build_casebook(coordinator_a, complete=True)
    with pytest.raises(ApplicationError) as refused:
        services.casebook_lock(
            user=chinese_investigator, patient=patient, password=TEST_PASSWORD, meaning="I agree."
        )
    expected = {"meaning": ["Confirm the signature statement exactly as shown."]}
    assert refused.value.fields == expected
    assert not Signature.objects.exists()


def test_stale_form_message_names_the_time_the_locale_way(chinese_coordinator):
    patient = build_casebook(chinese_coordinator)
    record = Baseline.objects.get(patient=patient)
    with translation.override("zh-hans"), pytest.raises(ApplicationError) as refused:
        services.crf_record_save(
            user=chinese_coordinator,
            patient=patient,
            section="baseline",
            data={"weight_kg": record.weight_kg},
            expected_version=record.version + 1,
        )
    changed = record.history.latest("history_date").history_date
    assert f"{changed.year}年{changed.month}月{changed.day}日" in refused.value.message
    assert "请重新加载后再次输入您的修改" in refused.value.message


@override_settings(STUDY_SHORT_TITLE="ES-SCLC registry", STUDY_SHORT_TITLE_ZH_HANS="广泛期登记")
def test_header_shows_the_study_short_title_in_the_page_language(client, coordinator_a):
    client.force_login(coordinator_a)
    english = client.get(reverse("registry:patient_list")).content.decode()
    assert '<span class="brand-name">ES-SCLC registry</span>' in english
    coordinator_a.language = "zh-hans"
    coordinator_a.save(update_fields=["language"])
    chinese = client.get(reverse("registry:patient_list")).content.decode()
    assert '<span class="brand-name">广泛期登记</span>' in chinese
    assert "<title>患者 · 广泛期登记</title>" in chinese


@override_settings(STUDY_SHORT_TITLE="Other study", STUDY_SHORT_TITLE_ZH_HANS="")
def test_chinese_pages_keep_the_english_title_when_no_chinese_one_is_set(
    client, chinese_coordinator
):
    client.force_login(chinese_coordinator)
    page = client.get(reverse("registry:patient_list")).content.decode()
    assert '<span class="brand-name">Other study</span>' in page


def test_printed_header_is_dated_the_chinese_way(client, chinese_coordinator):
    patient = build_casebook(chinese_coordinator)
    client.force_login(chinese_coordinator)
    css = client.get(reverse("registry:casebook_print_css", args=[patient.study_id]))
    text = css.content.decode()
    now = datetime.now(UTC)
    assert f"{now.year}年" in text
    assert "打印" in text
    assert '"第 " counter(page) " 页，共 " counter(pages) " 页"' in text
