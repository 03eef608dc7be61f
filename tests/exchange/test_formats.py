"""The files of an export: tidy tables, dictionary, REDCap, SPSS, XLSX, manifest."""

import csv
import hashlib
import io
import json

import pandas as pd

from registry.models import Patient
from tests.exchange.helpers import header, open_zip, rows, run_export

REDCAP_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]
REDCAP_SYSTEM = {
    "record_id",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
}
PARTS = [
    "registration",
    "baseline",
    "first_line",
    "assessments",
    "second_line",
    "adverse_events",
    "follow_up",
]


def _frame(zf, name) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(zf.read(name)), dtype=str, keep_default_na=False)


def test_one_tidy_table_per_crf_part(seeded, pi_user):
    zf = open_zip(run_export(pi_user))
    assert sorted(n for n in zf.namelist() if n.startswith("tables/")) == sorted(
        f"tables/{p}.csv" for p in PARTS
    )


def test_repeating_parts_have_one_row_per_record_with_instance_numbers(seeded, pi_user):
    zf = open_zip(run_export(pi_user))
    assessments = rows(zf, "tables/assessments.csv")
    assert len(assessments) == 12  # 6 locked patients × 2 assessments
    per_patient = {}
    for row in assessments:
        per_patient.setdefault(row["study_id"], []).append(row["instance"])
    assert all(v == ["1", "2"] for v in per_patient.values())


def test_choice_fields_carry_code_and_label(seeded, pi_user):
    zf = open_zip(run_export(pi_user))
    sexes = {(r["sex"], r["sex_label"]) for r in rows(zf, "tables/registration.csv")}
    assert sexes == {("M", "Male"), ("F", "Female")}
    baseline = rows(zf, "tables/baseline.csv")[0]
    assert (baseline["smoking"], baseline["smoking_label"]) == ("former", "Former")


def test_data_dictionary_describes_every_column_of_every_table(seeded, pi_user):
    zf = open_zip(run_export(pi_user))
    described = {(r["table"], r["column"]) for r in rows(zf, "data_dictionary.csv")}
    tables = [
        n for n in zf.namelist() if n.startswith(("tables/", "analysis/")) and n.endswith(".csv")
    ]
    undescribed = [
        (name, column)
        for name in tables
        for column in header(zf, name)
        if (name.removesuffix(".csv"), column) not in described
    ]
    assert undescribed == []


def test_readme_holds_the_dictionary_and_the_deidentification_summary(seeded, pi_user):
    readme = open_zip(run_export(pi_user)).read("README.md").decode()
    assert "| registration_day | integer | days from 2L start |" in readme
    assert "Ages over 89 shown as 90+" in readme


def test_dictionary_gives_units_and_allowed_values(seeded, pi_user):
    entries = {
        (r["table"], r["column"]): r
        for r in rows(open_zip(run_export(pi_user)), "data_dictionary.csv")
    }
    height = entries[("tables/baseline", "height_cm")]
    assert (height["unit"], height["allowed_values"]) == ("cm", "100–250")
    assert entries[("tables/baseline", "smoking")]["allowed_values"] == (
        "never=Never; former=Former; current=Current"
    )


def test_manifest_records_sha256_of_every_other_file(seeded, pi_user):
    zf = open_zip(run_export(pi_user, formats=["csv", "redcap", "xlsx", "sav"]))
    manifest = json.loads(zf.read("manifest.json"))
    actual = {
        n: hashlib.sha256(zf.read(n)).hexdigest() for n in zf.namelist() if n != "manifest.json"
    }
    assert manifest["files_sha256"] == actual


def test_manifest_records_who_scope_settings_and_counts(seeded, pi_user):
    manifest = json.loads(open_zip(run_export(pi_user, centers=["BBB"])).read("manifest.json"))
    assert manifest["exported_by"] == "petra"
    assert manifest["scope"] == {"centers": ["BBB"], "locked_only": True}
    assert manifest["settings"]["date_mode"] == "relative"
    assert manifest["row_counts"]["tables/registration.csv"] == 2


def test_redcap_dictionary_has_the_18_standard_columns_in_order(seeded, pi_user):
    zf = open_zip(run_export(pi_user, formats=["csv", "redcap"]))
    assert list(_frame(zf, "redcap/data_dictionary.csv").columns) == REDCAP_HEADER


def test_redcap_dictionary_starts_with_record_id(seeded, pi_user):
    zf = open_zip(run_export(pi_user, formats=["csv", "redcap"]))
    assert _frame(zf, "redcap/data_dictionary.csv").iloc[0]["Variable / Field Name"] == "record_id"


def test_redcap_records_reference_only_dictionary_fields(seeded, pi_user):
    zf = open_zip(run_export(pi_user, formats=["csv", "redcap"]))
    dictionary = _frame(zf, "redcap/data_dictionary.csv")
    fields = set(dictionary["Variable / Field Name"])
    forms = set(dictionary["Form Name"])
    checkbox_codes = {
        f"{r['Variable / Field Name']}___{choice.split(',')[0].strip()}"
        for _, r in dictionary[dictionary["Field Type"] == "checkbox"].iterrows()
        for choice in r["Choices, Calculations, OR Slider Labels"].split("|")
    }
    allowed = fields | checkbox_codes | REDCAP_SYSTEM | {f"{f}_complete" for f in forms}
    records = _frame(zf, "redcap/records.csv")
    assert [c for c in records.columns if c not in allowed] == []
    assert set(records["redcap_repeat_instrument"]) - {""} <= forms


def test_redcap_checkbox_and_complete_columns(seeded, pi_user):
    zf = open_zip(run_export(pi_user, formats=["csv", "redcap"]))
    records = _frame(zf, "redcap/records.csv")
    main = records[records["redcap_repeat_instrument"] == ""]
    assert len(main) == 6
    # Every seeded patient has 'other' metastases (code 5); even-numbered ones liver (code 2).
    assert set(main["bl_mets___5"]) == {"1"}
    assert sorted(main["bl_mets___2"]) == ["0", "0", "0", "1", "1", "1"]
    assert set(main["registration_complete"]) == {"2"}


def test_redcap_repeating_instruments_have_instances(seeded, pi_user):
    zf = open_zip(run_export(pi_user, formats=["csv", "redcap"]))
    records = _frame(zf, "redcap/records.csv")
    events = records[records["redcap_repeat_instrument"] == "adverse_events"]
    assert len(events) == 12
    assert sorted(set(events["redcap_repeat_instance"])) == ["1", "2"]


def test_redcap_choice_values_are_codes_listed_in_the_dictionary(seeded, pi_user):
    zf = open_zip(run_export(pi_user, formats=["csv", "redcap"]))
    dictionary = _frame(zf, "redcap/data_dictionary.csv").set_index("Variable / Field Name")
    choices = dictionary.loc["bl_smoking", "Choices, Calculations, OR Slider Labels"]
    assert choices == "1, Never | 2, Former | 3, Current"
    records = _frame(zf, "redcap/records.csv")
    assert set(records.loc[records["redcap_repeat_instrument"] == "", "bl_smoking"]) == {"2"}


def test_sav_files_have_variable_and_value_labels(seeded, pi_user, tmp_path):
    import pyreadstat

    zf = open_zip(run_export(pi_user, formats=["csv", "sav"]))
    path = tmp_path / "ae.sav"
    path.write_bytes(zf.read("sav/adverse_events.sav"))
    frame, meta = pyreadstat.read_sav(str(path))
    assert meta.column_names_to_labels["grade"].startswith("Grade. CTCAE v5.0 grade")
    assert meta.variable_value_labels["serious"] == {0: "No", 1: "Yes"}
    assert meta.variable_value_labels["outcome"][1] == "Recovered"
    assert len(frame) == 12


def test_sav_registration_labels_age_90_as_90_plus(seeded, pi_user, tmp_path):
    import pyreadstat

    zf = open_zip(run_export(pi_user, formats=["csv", "sav"]))
    path = tmp_path / "reg.sav"
    path.write_bytes(zf.read("sav/registration.sav"))
    # Ages at registration 2021-03-02 of the six locked patients; 1927-09-30 gives 93.
    frame, meta = pyreadstat.read_sav(str(path))
    assert meta.variable_value_labels["age_years"] == {90: "90+"}
    assert sorted(frame["age_years"]) == [60.0, 63.0, 65.0, 70.0, 71.0, 90.0]


def test_xlsx_has_one_sheet_per_table(seeded, pi_user):
    import openpyxl

    zf = open_zip(run_export(pi_user, formats=["csv", "xlsx"]))
    book = openpyxl.load_workbook(io.BytesIO(zf.read("xlsx/dataset.xlsx")), read_only=True)
    assert book.sheetnames == [
        "analysis_patients",
        "analysis_adverse_events",
        *PARTS,
        "data_dictionary",
    ]
    assert len(list(book["adverse_events"].iter_rows())) == 13  # header + 12 events


def test_unlocked_casebooks_are_left_out_by_default(seeded, pi_user):
    zf = open_zip(run_export(pi_user))
    assert len(rows(zf, "tables/registration.csv")) == 6
    assert Patient.objects.count() == 7


def test_all_casebooks_scope_includes_unlocked_ones(seeded, pi_user):
    zf = open_zip(run_export(pi_user, locked_only=False))
    assert len(list(csv.DictReader(io.StringIO(zf.read("tables/registration.csv").decode())))) == 7
