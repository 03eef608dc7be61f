"""Values under a missing-data code reach the analysis table as missing, the same way from
the column-wise builder (what runs use) and from the casebooks (the reference)."""

from datetime import timedelta

import pandas as pd

from analytics.datasets import build_analysis_tables, build_analysis_tables_from_casebooks
from registry import services
from registry.models import Baseline, SecondLineTherapy, TumourAssessment
from tests.builders import SECOND_LINE_START, assessment, build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD


def _code(text: str) -> dict:
    return {"code": "unknown", "comment": text}


def _save(user, patient, section, record, data, record_id=None):
    services.crf_record_save(
        user=user,
        patient=patient,
        section=section,
        data=data,
        record_id=record_id,
        expected_version=record.version,
    )


def test_coded_values_are_missing_in_both_table_builders(coordinator_a, investigator_a):
    coded = build_casebook(coordinator_a)
    user = coordinator_a
    _save(
        user,
        coded,
        "baseline",
        Baseline.objects.get(patient=coded),
        {
            "smoking": "",
            "pack_years": None,
            "weight_kg": None,
            "missing_codes": {"smoking": _code("not asked"), "weight_kg": _code("not weighed")},
        },
    )
    _save(
        user,
        coded,
        "second_line",
        SecondLineTherapy.objects.get(patient=coded),
        {
            "radiotherapy_site": "",
            "antiangiogenic_agent": "",
            "missing_codes": {
                "radiotherapy_site": _code("chart lost"),
                "antiangiogenic_agent": _code("chart lost"),
            },
        },
    )
    baseline_scan = TumourAssessment.objects.filter(patient=coded).order_by("assessment_date")[0]
    _save(
        user,
        coded,
        "assessments",
        baseline_scan,
        {"target_sum_mm": None, "missing_codes": {"target_sum_mm": _code("images lost")}},
        record_id=baseline_scan.pk,
    )
    services.crf_record_save(
        user=user,
        patient=coded,
        section="assessments",
        data=assessment(
            assessment_date=SECOND_LINE_START + timedelta(days=60),
            line="2L",
            target_sum_mm=50,
            overall_response="",
            missing_codes={"overall_response": _code("report not found")},
        ),
    )
    plain = build_casebook(coordinator_a)
    for patient in (coded, plain):
        services.casebook_mark_complete(user=user, patient=patient)
        lock_casebook(patient, investigator_a, TEST_PASSWORD)

    fast, reference = build_analysis_tables(), build_analysis_tables_from_casebooks()
    pd.testing.assert_frame_equal(fast.patients, reference.patients)
    rows = fast.patients.set_index("study_id")
    row, other = rows.loc[coded.study_id], rows.loc[plain.study_id]
    assert pd.isna(row["smoking"]) and other["smoking"] == "former"
    assert pd.isna(row["bmi"]) and not pd.isna(other["bmi"])
    assert pd.isna(row["l2_radiotherapy"]) and pd.isna(row["l2_antiangiogenic"])
    assert other["l2_radiotherapy"] in (0, 1)
    assert pd.isna(row["dpr_pct"]) and other["dpr_pct"] == 40.0
    assert row["l2_best_response"] == "NE"  # a response under a code is not evaluable
