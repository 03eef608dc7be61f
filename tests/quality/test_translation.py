"""The data-management layer in Simplified Chinese: pages for a user whose saved language is
zh-hans, emails in each recipient's own language (whoever's request or worker sends them),
and the data-quality rules' messages, stored in English with a code and shown in the
reader's language.

Each Chinese assertion names a string of locale/zh_Hans/LC_MESSAGES/django.po; each page
test also checks that the English source of that page's headings does not leak through.
"""

from __future__ import annotations

import importlib
import re

import pytest
from django.apps import apps
from django.core import mail
from django.template import Context, Template
from django.urls import reverse
from django.utils import translation

from quality import notifications, services
from quality.checks import CLOSE_TEXT, rules_run
from quality.models import NotificationPreference, Query, QueryMessage
from quality.selectors import lock_blockers
from registry.models import AuditEvent, Baseline, SecondLineTherapy
from tests.builders import build_casebook

pytestmark = pytest.mark.django_db

CHINESE = "zh-hans"
QUESTION = "Weight 65 kg: please check the chart."
BMI_LOW_EN = "BMI under 15: please check the weight and height."
BMI_LOW_ZH = "BMI 低于 15：请核对体重和身高。"
RULE_CLOSED_ZH = "该规则已不再适用：数据已更正。"


def speaks_chinese(user):
    user.language = CHINESE
    user.save(update_fields=["language"])
    return user


def with_email(user):
    user.email = f"{user.username}@hospital.example"
    user.save(update_fields=["email"])
    return user


def page(client, user, url, **params) -> str:
    client.force_login(user)
    response = client.get(url, params)
    assert response.status_code == 200
    return response.content.decode()


def raise_on_weight(data_manager, patient) -> Query:
    return services.query_raise(
        user=data_manager, patient=patient, section="baseline", field="weight_kg", text=QUESTION
    )


def break_bmi(patient) -> None:
    Baseline.objects.filter(patient=patient).update(weight_kg=43)  # 43 / 1.7² = 14.9


# -- pages ------------------------------------------------------------------------------------


def test_my_work_page_of_a_chinese_coordinator_is_in_chinese(client, coordinator_a, casebook):
    html = page(client, speaks_chinese(coordinator_a), reverse("quality:my_work"))
    assert '<html lang="zh-hans">' in html
    for chinese in ("我的工作", "本中心的开放质疑", "未完成的病例档案", "逾期随访", "任务列表"):
        assert chinese in html
    for english in ("My work", "Open queries of my centre", "Overdue follow-ups", "Task lists"):
        assert english not in html


def test_open_query_list_of_my_work_is_in_chinese(client, coordinator_a, data_manager, casebook):
    raise_on_weight(data_manager, casebook)
    html = page(
        client, speaks_chinese(coordinator_a), reverse("quality:my_work"), list="open_queries"
    )
    for chinese in ("编号", "患者", "位置", "开放天数"):
        assert f"<th>{chinese}</th>" in html
    for english in ("<th>Patient</th>", "<th>Where</th>", "<th>Days open</th>"):
        assert english not in html


def test_query_page_of_a_chinese_coordinator_is_in_chinese(
    client, coordinator_a, data_manager, casebook
):
    query = raise_on_weight(data_manager, casebook)
    url = reverse("quality:query_detail", args=[query.pk])
    html = page(client, speaks_chinese(coordinator_a), url)
    for chinese in (f"质疑 #{query.pk}", "往来记录", "发起时的值", "当前值", "更正该值"):
        assert chinese in html
    assert "发送回复" in html
    for english in ("Thread", "Value when raised", "Correct the value", "Send answer"):
        assert english not in html
    assert QUESTION in html  # what a person wrote is shown as written


def test_query_list_of_a_chinese_data_manager_is_in_chinese(client, data_manager, casebook):
    raise_on_weight(data_manager, casebook)
    html = page(client, speaks_chinese(data_manager), reverse("quality:query_list"))
    for chinese in ("数据质疑", "1 个质疑", "下载 CSV", "按中心", "回复天数中位数"):
        assert chinese in html
    for english in ("Data queries", "Download CSV", "Median days to answer", "By centre"):
        assert english not in html
    assert f"bmi_low · {BMI_LOW_ZH}</option>" in html  # the rule filter names each rule
    assert BMI_LOW_EN not in html


def test_verification_page_keeps_a_single_percent_sign_in_chinese(client, data_manager, casebook):
    html = page(client, speaks_chinese(data_manager), reverse("quality:verification"))
    assert "已核查 %</th>" in html
    assert "%%" not in html
    assert "源数据核查（SDV）" in html and "Source data verification" not in html


def test_notification_list_of_a_chinese_coordinator_is_in_chinese(
    client, coordinator_a, data_manager, casebook
):
    query = raise_on_weight(data_manager, casebook)
    html = page(client, speaks_chinese(coordinator_a), reverse("quality:notification_list"))
    assert "您的中心有新的质疑" in html  # the notification's kind
    assert f"质疑 {query.pk} · {casebook.study_id}" in html
    assert "1 条未读" in html and "全部标为已读" in html
    assert "邮件：立即发送" in html and "Email: at once" not in html
    assert "Query opened on your centre" not in html and "Mark all read" not in html


def test_service_refusal_reaches_a_chinese_user_in_chinese(client, data_manager, casebook):
    query = raise_on_weight(data_manager, casebook)
    client.force_login(speaks_chinese(data_manager))
    response = client.post(
        reverse("quality:query_detail", args=[query.pk]), {"action": "reopen", "reopen-text": "x"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert f"质疑 {query.pk} 已经是开放状态。" in html
    assert "is open already" not in html


# -- emails: each recipient's language ------------------------------------------------------


@pytest.fixture
def mailboxes(coordinator_a, data_manager):
    """Alice (coordinator, Chinese) and Dora (data manager, English), both with addresses."""
    return with_email(speaks_chinese(coordinator_a)), with_email(data_manager)


def test_immediate_email_follows_the_recipient_not_the_sender(
    mailboxes, casebook, django_capture_on_commit_callbacks
):
    alice, dora = mailboxes
    mail.outbox.clear()
    # Dora raises in English; Alice's email is in Chinese.
    with translation.override("en-gb"), django_capture_on_commit_callbacks(execute=True):
        query = raise_on_weight(dora, casebook)
    (to_alice,) = mail.outbox
    assert to_alice.to == [alice.email]
    assert to_alice.subject == (
        f"[登记系统] 您的中心有新的质疑：{casebook.study_id} 的质疑 {query.pk}"
    )
    assert "alice，您好：" in to_alice.body and "Hello" not in to_alice.body
    assert "本邮件不含任何患者身份信息" in to_alice.body

    # Alice answers in Chinese; Dora's email stays English.
    mail.outbox.clear()
    with translation.override(CHINESE), django_capture_on_commit_callbacks(execute=True):
        services.query_answer(user=alice, query_id=query.pk, text="已核对。")
    (to_dora,) = mail.outbox
    assert to_dora.subject == (
        f"[Registry] Query answered: query {query.pk} on {casebook.study_id}"
    )
    assert "Hello dora," in to_dora.body and "Part: Baseline" in to_dora.body
    assert f"Patient: {casebook.study_id} (centre AAA)" in to_dora.body
    assert not any("\u4e00" <= char <= "\u9fff" for char in to_dora.subject + to_dora.body)


def test_digest_task_writes_each_users_digest_in_their_language(
    mailboxes, coordinator_a, django_capture_on_commit_callbacks
):
    from quality.tasks import send_notification_digests

    alice, dora = mailboxes
    for user in (alice, dora):
        notifications.preference_set(user=user, email=NotificationPreference.Email.DAILY)
    with django_capture_on_commit_callbacks(execute=True):
        patient = build_casebook(coordinator_a)
        query = raise_on_weight(dora, patient)  # tells Alice
        services.query_answer(user=alice, query_id=query.pk, text="OK")  # tells Dora
    mail.outbox.clear()

    # The task runs as a worker would; the active language must not decide.
    with translation.override(CHINESE):
        assert send_notification_digests.apply().get() == "sent 2 digests"
    by_address = {message.to[0]: message for message in mail.outbox}
    to_alice, to_dora = by_address[alice.email], by_address[dora.email]
    assert to_alice.subject == "[登记系统] 1 条通知"
    assert "自上次汇总以来有 1 条通知：" in to_alice.body
    assert "您的中心有新的质疑" in to_alice.body and "您的全部通知" in to_alice.body
    assert f"患者：{patient.study_id}（中心 AAA）" in to_alice.body
    assert f"质疑：{query.pk}" in to_alice.body
    assert to_dora.subject == "[Registry] 1 notification"
    assert "1 notification since your last digest:" in to_dora.body
    assert "Query answered" in to_dora.body
    assert not any("\u4e00" <= char <= "\u9fff" for char in to_dora.subject + to_dora.body)


def test_user_without_a_saved_language_gets_the_default_language(
    mailboxes, casebook, settings, django_capture_on_commit_callbacks
):
    alice, dora = mailboxes
    alice.language = ""
    alice.save(update_fields=["language"])
    settings.LANGUAGE_CODE = CHINESE
    assert notifications.recipient_language(alice) == CHINESE
    settings.LANGUAGE_CODE = "en-gb"
    assert notifications.recipient_language(alice) == "en-gb"
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        raise_on_weight(dora, casebook)
    assert mail.outbox[0].subject.startswith("[Registry] Query opened on your centre:")


# -- the rules' messages ----------------------------------------------------------------------


def test_rule_message_is_stored_in_english_with_its_code_whatever_the_language(casebook):
    break_bmi(casebook)
    with translation.override(CHINESE):  # e.g. run in a Chinese coordinator's request
        rules_run([casebook.pk])
    message = QueryMessage.objects.get(query__rule_code="bmi_low")
    assert message.text == BMI_LOW_EN
    assert message.detail == {"message_code": "rule.bmi_low"}


def test_rule_message_is_shown_in_the_readers_language(
    client, coordinator_a, data_manager, casebook
):
    break_bmi(casebook)
    rules_run([casebook.pk])
    query = Query.objects.get(rule_code="bmi_low")
    url = reverse("quality:query_detail", args=[query.pk])
    chinese = page(client, speaks_chinese(coordinator_a), url)
    assert BMI_LOW_ZH in chinese and BMI_LOW_EN not in chinese
    assert "数据质量规则" in chinese  # raised by: a data-quality rule
    # Same browser, whose language cookie now says Chinese: the account's English wins.
    data_manager.language = "en-gb"
    data_manager.save(update_fields=["language"])
    english = page(client, data_manager, url)
    assert BMI_LOW_EN in english and BMI_LOW_ZH not in english


def test_rule_messages_in_the_query_list_and_print_follow_the_reader(
    client, coordinator_a, data_manager, casebook
):
    SecondLineTherapy.objects.filter(patient=casebook).update(cycles=31)
    rules_run([casebook.pk])
    SecondLineTherapy.objects.filter(patient=casebook).update(cycles=6)
    assert rules_run([casebook.pk])["closed"] == 1
    close = QueryMessage.objects.get(kind="close")
    assert (close.text, close.detail) == (CLOSE_TEXT, {"message_code": "rule_closed"})
    speaks_chinese(data_manager)
    listed = page(client, data_manager, reverse("quality:query_list"))
    assert RULE_CLOSED_ZH in listed and CLOSE_TEXT not in listed
    url = reverse("registry:casebook_print", args=[casebook.study_id])
    printed = page(client, data_manager, url)
    # The printed queries' threads (the audit trail below them is the registry's).
    threads = "".join(re.findall(r'<div class="print-query">.*?</div>', printed, flags=re.S))
    assert "二线治疗超过 30 个周期：请核对。" in threads and RULE_CLOSED_ZH in threads
    assert "More than 30 second-line cycles" not in threads and CLOSE_TEXT not in threads


def test_rule_report_shows_the_rules_in_chinese(client, data_manager, casebook):
    html = page(client, speaks_chinese(data_manager), reverse("quality:rules_report"))
    assert BMI_LOW_EN not in html
    assert BMI_LOW_ZH in html and "严重程度" in html and "警告" in html


def test_audit_reason_filter_gives_the_rules_history_reasons_in_the_readers_language(
    data_manager, casebook
):
    SecondLineTherapy.objects.filter(patient=casebook).update(cycles=31)
    rules_run([casebook.pk])
    SecondLineTherapy.objects.filter(patient=casebook).update(cycles=6)
    rules_run([casebook.pk])
    raise_on_weight(data_manager, casebook)
    template = Template(
        "{% load quality_tags %}{% for e in events %}{{ e|audit_reason }}|{% endfor %}"
    )
    events = AuditEvent.objects.filter(action__in=("query_raise", "query_close")).order_by("pk")
    with translation.override(CHINESE):
        rendered = template.render(Context({"events": events}))
    assert rendered.split("|") == [
        "二线治疗超过 30 个周期：请核对。",
        RULE_CLOSED_ZH,
        QUESTION,  # a person's reason, as written
        "",
    ]


def test_message_of_a_rule_no_longer_known_is_shown_as_stored(client, data_manager, casebook):
    break_bmi(casebook)
    rules_run([casebook.pk])
    message = QueryMessage.objects.get(query__rule_code="bmi_low")
    message.detail = {"message_code": "rule.retired_rule"}
    message.text = "A retired rule's words."
    message.save(update_fields=["detail", "text"])
    url = reverse("quality:query_detail", args=[message.query_id])
    html = page(client, speaks_chinese(data_manager), url)
    assert "A retired rule&#x27;s words." in html


def test_migration_codes_the_rules_messages_written_before_it(
    coordinator_a, data_manager, casebook
):
    SecondLineTherapy.objects.filter(patient=casebook).update(cycles=31)
    rules_run([casebook.pk])
    SecondLineTherapy.objects.filter(patient=casebook).update(cycles=6)
    rules_run([casebook.pk])
    manual = raise_on_weight(data_manager, casebook)
    services.query_close(user=data_manager, query_id=manual.pk, text=CLOSE_TEXT)
    QueryMessage.objects.update(detail={})  # as the rules wrote them before codes existed

    migration = importlib.import_module("quality.migrations.0005_rule_message_codes")
    migration.add_codes(apps, None)
    codes = {
        (m.query.origin, m.kind): m.detail.get("message_code")
        for m in QueryMessage.objects.select_related("query")
    }
    assert codes == {
        ("rule", "raise"): "rule.cycles_2l_over_30",
        ("rule", "close"): "rule_closed",
        ("manual", "raise"): None,  # a person's words are never coded
        ("manual", "close"): None,  # even when they equal a rule's
    }
    migration.remove_codes(apps, None)
    assert not QueryMessage.objects.exclude(detail={}).exists()


def test_lock_refusal_is_in_the_readers_language(data_manager, casebook):
    query = raise_on_weight(data_manager, casebook)
    with translation.override(CHINESE):
        (refusal,) = lock_blockers(None, casebook)
    assert refusal.endswith(f"上的质疑 {query.pk} 状态为开放")
    (english,) = lock_blockers(None, casebook)
    assert english == f"query {query.pk} on Baseline › Weight (kg) is open"
