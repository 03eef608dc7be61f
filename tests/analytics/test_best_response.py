"""``l2_best_response``: RECIST 1.1 best overall response on the second line, in the analysis
patient table (definition in registry.derived; column-wise in analytics.datasets)."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from analytics.datasets import build_analysis_tables, build_analysis_tables_from_casebooks
from registry import services
from registry.derived import Response, best_overall_response
from tests.builders import SECOND_LINE_START, assessment, build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD

START = date(2021, 3, 1)


def bor(*visits: tuple[int, str]) -> str | None:
    return best_overall_response(
        START, [Response(START + timedelta(days=d), code) for d, code in visits]
    )


@pytest.mark.parametrize(
    ("visits", "expected"),
    [
        ((), None),
        (((42, "SD"), (84, "PR"), (126, "PD")), "PR"),
        (((42, "SD"), (84, "SD")), "SD"),
        # SD counts from 6 weeks: at day 41 it is not evaluable, so a later PD is the best
        (((41, "SD"), (80, "PD")), "PD"),
        (((41, "SD"),), "NE"),
        # nothing after the first PD counts (the next course's response)
        (((42, "PD"), (84, "CR")), "PD"),
        (((56, "NE"), (112, "CR")), "CR"),
        # an assessment before the 2L start belongs to the first line
        (((-10, "PR"), (50, "SD")), "SD"),
    ],
)
def test_best_overall_response_rules(visits, expected):
    assert bor(*visits) == expected


def _casebook_with_2l(coordinator, visits: list[tuple[int, str]]):
    patient = build_casebook(coordinator, complete=False)
    for day, code in visits:
        services.crf_record_save(
            user=coordinator,
            patient=patient,
            section="assessments",
            data=assessment(
                assessment_date=SECOND_LINE_START + timedelta(days=day),
                line="2L",
                target_sum_mm=50,
                new_lesions=code == "PD",
                overall_response=code,
            ),
        )
    services.casebook_mark_complete(user=coordinator, patient=patient)
    patient.refresh_from_db()
    return patient


def test_both_table_builders_derive_the_same_best_response(coordinator_a, investigator_a):
    # builders: 2L from 2021-03-01 with progression on 2021-08-01 (day 153)
    cases = {
        "PR": [(42, "SD"), (84, "PR"), (153, "PD")],
        "PD": [(30, "SD"), (153, "PD")],
        "NE": [(30, "SD")],
        "SD": [(42, "SD"), (153, "PD"), (200, "CR")],
        None: [],
    }
    expected = {}
    for code, visits in cases.items():
        patient = _casebook_with_2l(coordinator_a, visits)
        lock_casebook(patient, investigator_a, TEST_PASSWORD)
        expected[patient.study_id] = code
    fast, reference = build_analysis_tables(), build_analysis_tables_from_casebooks()
    pd.testing.assert_frame_equal(fast.patients, reference.patients)
    assert fast.sha256() == reference.sha256()
    got = dict(zip(fast.patients["study_id"], fast.patients["l2_best_response"], strict=True))
    assert got == expected
