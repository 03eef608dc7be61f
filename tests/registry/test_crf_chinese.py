"""The case report form in Simplified Chinese: labels, choices, help texts, validation and
cross-part messages, as a coordinator whose language is zh-hans reads them."""

from __future__ import annotations

import re
from datetime import date

import pytest
from django.db import models
from django.urls import reverse
from django.utils import translation

from core.errors import ApplicationError
from core.roles import Role
from registry import choices as c
from registry import services
from registry.forms import FORM_BY_SECTION, RegistrationForm
from registry.models import CRF_MODELS, AdverseEvent, Patient
from tests import builders
from tests.registry.pages_support import field_block, form_data, snapshot

CJK = re.compile(r"[\u4e00-\u9fff]")


def chinese(text) -> bool:
    return bool(CJK.search(str(text)))


def translated(text) -> bool:
    """Read differently in Chinese than in English ("cm, 100–250." has no Chinese word)."""
    with translation.override("en-gb"):
        english = str(text)
    with translation.override("zh-hans"):
        return str(text) != english


@pytest.fixture
def zh_coordinator(coordinator_a):
    coordinator_a.language = "zh-hans"
    coordinator_a.save(update_fields=["language"])
    return coordinator_a


def test_chinese_coordinator_sees_the_cross_part_message_in_chinese_next_to_the_field(
    client, zh_coordinator
):
    patient = builders.build_casebook(zh_coordinator)
    client.force_login(zh_coordinator)
    url = reverse("registry:row_add", args=[patient.study_id, "adverse_events"])
    before = snapshot()
    response = client.post(url, form_data(builders.adverse_event(onset_date=date(2021, 2, 1))))
    assert response.status_code == 200
    block = field_block(response.content.decode(), "onset_date")
    assert "发生日期不得早于二线治疗开始日期（2021年3月1日）。" in block
    assert "must not be before" not in block
    assert "Onset date" not in block
    assert snapshot() == before


def test_chinese_coordinator_sees_a_single_record_rule_in_chinese(client, zh_coordinator):
    patient = builders.build_casebook(zh_coordinator)
    client.force_login(zh_coordinator)
    url = reverse("registry:row_add", args=[patient.study_id, "adverse_events"])
    data = builders.adverse_event(grade=5, outcome="recovered")
    recorded = AdverseEvent.objects.filter(patient=patient).count()
    response = client.post(url, form_data(data))
    block = field_block(response.content.decode(), "outcome")
    assert "5 级不良事件为致死性事件：转归必须为“死亡”。" in block
    assert "outcome must be" not in block
    assert AdverseEvent.objects.filter(patient=patient).count() == recorded


def test_the_service_answers_a_chinese_request_with_chinese_messages_naming_the_field(
    coordinator_a,
):
    patient = builders.build_casebook(coordinator_a, with_ae=False)
    data = builders.adverse_event(onset_date=date(2021, 2, 1))
    with translation.override("zh-hans"), pytest.raises(ApplicationError) as caught:
        services.crf_record_save(
            user=coordinator_a, patient=patient, section="adverse_events", data=data
        )
    assert caught.value.fields["onset_date"] == [
        "发生日期不得早于二线治疗开始日期（2021年3月1日）。"
    ]


def test_an_implausible_date_is_refused_with_the_chinese_date_format(coordinator_a):
    with translation.override("zh-hans"), pytest.raises(ApplicationError) as caught:
        builders.register_patient(coordinator_a, date_of_birth=date(1899, 12, 31))
    assert caught.value.fields["date_of_birth"] == [
        "1899年12月31日 早于 1900年1月1日：请检查年份。"
    ]
    assert not Patient.objects.exists()


def test_an_implausible_date_is_refused_with_the_english_date_format(coordinator_a):
    with translation.override("en-gb"), pytest.raises(ApplicationError) as caught:
        builders.register_patient(coordinator_a, date_of_birth=date(1899, 12, 31))
    assert caught.value.fields["date_of_birth"] == [
        "31 Dec 1899 is before 1 Jan 1900: check the year."
    ]


def test_a_screen_failure_reason_is_stored_in_english_and_read_in_chinese(coordinator_a):
    with translation.override("zh-hans"):
        patient = builders.register_patient(coordinator_a, exc_autoimmune_disease=True)
        # Stored the same whatever the registering user's language (the dashboard counts it).
        assert patient.screen_failure_reason == "Exclusion 2: autoimmune disease (answered yes)"
        assert patient.screen_failure_reason_display == "排除标准 2：自身免疫性疾病（回答为“是”）"
        assert patient.failed_criterion_display() == "排除标准 2：自身免疫性疾病（回答为“是”）"
    with translation.override("en-gb"):
        assert patient.screen_failure_reason_display == (
            "Exclusion 2: autoimmune disease (answered yes)"
        )


def test_a_screen_failure_reason_typed_elsewhere_is_shown_as_stored(coordinator_a):
    patient = Patient(screen_failure_reason="Withdrew consent before screening")
    with translation.override("zh-hans"):
        assert patient.screen_failure_reason_display == "Withdrew consent before screening"


def form_instances():
    for section, form_class in FORM_BY_SECTION.items():
        if form_class is RegistrationForm:
            yield section, form_class(sees_identifiers=True, choose_center=True)
        elif section == c.Section.ASSESSMENTS:
            yield section, form_class(patient=Patient())
        else:
            yield section, form_class(reason_required=True)


def test_every_label_help_text_and_choice_of_every_crf_form_is_chinese(db):
    untranslated = []
    with translation.override("zh-hans"):
        for section, form in form_instances():
            for legend, _names in form.fieldsets:
                if not chinese(legend):
                    untranslated.append((section, "legend", legend))
            for name, field in form.fields.items():
                if field.widget.is_hidden:
                    continue
                texts = [field.label, field.help_text] if field.help_text else [field.label]
                texts += [label for value, label in getattr(field, "choices", []) if value]
                if name == "center":  # centre names are data, not text of the registry
                    texts = texts[:2]
                untranslated += [(section, name, str(t)) for t in texts if not translated(t)]
    assert untranslated == []


def test_every_crf_field_and_model_name_is_translated():
    untranslated = []
    with translation.override("zh-hans"):
        for model in (Patient, *CRF_MODELS):
            untranslated += [model.__name__] * (not chinese(model._meta.verbose_name))
            for field in model._meta.concrete_fields:
                if isinstance(field, models.AutoField):
                    continue
                untranslated += [f"{model.__name__}.{field.name}"] * (
                    not chinese(field.verbose_name)
                )
                if field.help_text and not translated(field.help_text):
                    untranslated.append(f"{model.__name__}.{field.name} help")
    assert untranslated == []


def test_every_vocabulary_and_role_is_translated():
    vocabularies = [
        value
        for value in vars(c).values()
        if isinstance(value, type) and issubclass(value, models.Choices)
    ] + [Role]
    with translation.override("zh-hans"):
        untranslated = [
            (vocabulary.__name__, member.value)
            for vocabulary in vocabularies
            for member in vocabulary
            if not chinese(member.label)
        ]
    assert untranslated == []
    assert len(vocabularies) > 20
