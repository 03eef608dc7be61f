"""Exports and imports in Simplified Chinese (issue 15): the pages and messages follow the
user's language; the export files are for statistics software and do not (the same bytes
whichever language asked), with the Chinese label beside the English one in the data
dictionary."""

from __future__ import annotations

import html
import io

import pyreadstat
import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from core.errors import ApplicationError
from exchange import services
from exchange.models import ImportJob
from registry.models import Patient
from tests import builders
from tests.exchange.helpers import open_zip, rows, run_export
from tests.exchange.imports.helpers import Workbook, template


def _speaks(user, language: str):
    user.language = language
    user.save(update_fields=["language"])
    return user


def _export_in(language: str, user, **options):
    _speaks(user, language)
    # An eager task runs in the language of the request that queued it: the same here.
    with translation.override(language):
        return run_export(user, **options)


def _xlsx_cells(data: bytes) -> dict[str, list[tuple]]:
    # An XLSX records when it was written (docProps/core.xml): compare what it holds.
    book = load_workbook(io.BytesIO(data), read_only=True)
    return {sheet.title: list(sheet.iter_rows(values_only=True)) for sheet in book.worksheets}


def _sav_contents(data: bytes, path) -> tuple:
    # An SPSS file records when it was written (its header): compare the data, the variable
    # labels and the value labels.
    path.write_bytes(data)
    frame, meta = pyreadstat.read_sav(str(path))
    values = frame.astype(object).where(frame.notna(), None).to_dict("list")
    return values, meta.column_names_to_labels, meta.variable_value_labels


def test_export_files_are_the_same_whichever_language_asks(seeded, pi_user, tmp_path):
    options = {"formats": ["xlsx", "sav", "redcap"], "recipient": "Stats unit"}
    english = open_zip(_export_in("en-gb", pi_user, **options))
    chinese = open_zip(_export_in("zh-hans", pi_user, **options))
    names = sorted(english.namelist())
    assert names == sorted(chinese.namelist())
    compared = 0
    for name in names:
        if name in ("manifest.json", "README.md"):
            continue  # the export's id and time, which differ between any two exports
        if name.endswith(".xlsx"):
            assert _xlsx_cells(english.read(name)) == _xlsx_cells(chinese.read(name)), name
        elif name.endswith(".sav"):
            assert _sav_contents(english.read(name), tmp_path / "en.sav") == _sav_contents(
                chinese.read(name), tmp_path / "zh.sav"
            ), name
        else:
            assert english.read(name) == chinese.read(name), name
        compared += 1
    assert compared >= 12  # CSV tables, dictionary, SPSS files, REDCap files
    # README: after its line with the export's id and time, the same text.
    after_header = [zf.read("README.md").decode().split("\n", 3)[3] for zf in (english, chinese)]
    assert after_header[0] == after_header[1]


def test_export_files_stay_english_for_a_chinese_user(seeded, pi_user):
    zf = open_zip(_export_in("zh-hans", pi_user, formats=["sav"]))
    dictionary = {(r["table"], r["column"]): r for r in rows(zf, "data_dictionary.csv")}
    assert dictionary[("analysis/patients", "os_event")]["meaning"] == "1 = death, 0 = censored"
    assert "De-identified export" in zf.read("README.md").decode()


def test_the_data_dictionary_has_the_chinese_label_beside_the_english(seeded, pi_user):
    zf = open_zip(_export_in("en-gb", pi_user))
    dictionary = {(r["table"], r["column"]): r for r in rows(zf, "data_dictionary.csv")}
    os_event = dictionary[("analysis/patients", "os_event")]
    assert (os_event["meaning"], os_event["label_zh_hans"]) == (
        "1 = death, 0 = censored",
        "1 = 死亡，0 = 删失",
    )
    study_id = dictionary[("tables/registration", "study_id")]
    assert study_id["label_zh_hans"] == "本次导出中的患者标识"
    assert list(rows(zf, "data_dictionary.csv")[0])[5:7] == ["meaning", "label_zh_hans"]


def test_a_chinese_user_gets_the_export_page_in_chinese(client, pi_user):
    client.force_login(_speaks(pi_user, "zh-hans"))
    text = client.get(reverse("exports:list")).content.decode()
    assert '<legend class="label">中心</legend>' in text
    assert "新建导出" in text and "距二线治疗开始的天数" in text
    for english in ("Centers", "Centres", "New export", "Days from the second-line start"):
        assert english not in text


def test_export_refusals_are_in_the_users_language(coordinator_a, center_b):
    with translation.override("zh-hans"), pytest.raises(ApplicationError) as refused:
        services.export_request(user=coordinator_a, centers=["BBB"], enqueue=False)
    assert refused.value.message == "centers：中心工作人员只能导出本中心（AAA）；不能导出 BBB。"
    assert refused.value.fields == {"centers": ["仅限本中心（AAA）。"]}


def test_a_chinese_coordinator_gets_the_import_preview_in_chinese(
    client, coordinator_a, tmp_path, django_capture_on_commit_callbacks
):
    patient = builders.build_casebook(coordinator_a)
    path = template(tmp_path / "edited.xlsx", Patient.objects.filter(pk=patient.pk))
    book = Workbook(path)
    book.set("baseline", 0, "weight_kg", "heavy")
    book.save()
    client.force_login(_speaks(coordinator_a, "zh-hans"))
    with open(path, "rb") as handle, django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:list"), {"file": handle})
    text = html.unescape(client.get(response["Location"]).content.decode())
    assert "'heavy' 不是数字。" in text
    assert "文件存在错误时无法导入" in text and "问题" in text
    assert "is not a number" not in text and "Problems" not in text
    assert ImportJob.objects.get().counts["errors"] == 1


def test_an_unreadable_upload_is_refused_in_chinese(
    client, coordinator_a, django_capture_on_commit_callbacks
):
    client.force_login(_speaks(coordinator_a, "zh-hans"))
    upload = io.BytesIO(b"not a workbook")
    upload.name = "data.xlsx"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:list"), {"file": upload})
    assert response.status_code == 302  # read by the preview task, which says why it failed
    text = client.get(response["Location"]).content.decode()
    assert 'role="alert">该文件不是 Excel 工作簿（.xlsx）。</div>' in text
    assert "not an Excel workbook" not in text
