"""The analysis tables: locked casebooks only, a fixed number of queries whatever the size."""

from __future__ import annotations

import pandas as pd
from django.db import connection
from django.test.utils import CaptureQueriesContext

from analytics.datasets import build_analysis_tables, build_analysis_tables_from_casebooks
from tests.analytics.reference_cohort import enter_casebook, reference_rows
from tests.builders import build_casebook, bulk_casebooks, lock_casebook
from tests.factories import TEST_PASSWORD


def _lock_many(n, coordinator, investigator):
    for _ in range(n):
        lock_casebook(build_casebook(coordinator, complete=True), investigator, TEST_PASSWORD)


def _queries_to_build() -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        tables = build_analysis_tables()
    return len(ctx.captured_queries), tables.n_analysed


def test_building_the_tables_takes_as_many_queries_for_50_patients_as_for_5(center_a):
    # Locked casebooks written in bulk (synthetic, so they differ in how many records of
    # each part they hold): what is counted is the queries, not how the data came in.
    bulk_casebooks(center_a, 5, lock=True, seed=1)
    queries_5, n_5 = _queries_to_build()
    bulk_casebooks(center_a, 45, lock=True, seed=2)
    queries_50, n_50 = _queries_to_build()
    assert (n_5, n_50) == (5, 50)
    assert queries_50 == queries_5


def test_only_locked_casebooks_enter_the_analysis(coordinator_a, investigator_a):
    locked = build_casebook(coordinator_a, complete=True)
    lock_casebook(locked, investigator_a, TEST_PASSWORD)
    build_casebook(coordinator_a, complete=True)  # complete, not locked
    tables = build_analysis_tables()
    assert list(tables.patients["study_id"]) == [locked.study_id]
    assert list(tables.adverse_events["study_id"]) == [locked.study_id]


def test_patient_row_follows_the_contract(coordinator_a, investigator_a):
    # builders: 2L start 2021-03-01, progression 2021-08-01 (153 days), alive 2022-01-10
    # (315 days); 1L 2020-01-20 → 2021-02-15 (392 days); target sum 100 → 60 mm (DpR 40%).
    lock_casebook(build_casebook(coordinator_a, complete=True), investigator_a, TEST_PASSWORD)
    row = build_analysis_tables().patients.iloc[0]
    assert row["os_event"] == 0
    assert row["os_months"] == 315 / 30.4375
    assert (row["pfs_event"], row["pfs_months"]) == (1, 153 / 30.4375)
    assert row["l1_pfs_months"] == 392 / 30.4375
    assert row["dpr_pct"] == 40.0
    assert (row["sex"], row["smoking"], row["ecog"], row["l2_antiangiogenic"]) == (
        "M",
        "former",
        1,
        1,
    )


def test_dataset_hash_changes_when_a_casebook_is_locked(coordinator_a, investigator_a):
    _lock_many(1, coordinator_a, investigator_a)
    before = build_analysis_tables().sha256()
    assert build_analysis_tables().sha256() == before
    _lock_many(1, coordinator_a, investigator_a)
    assert build_analysis_tables().sha256() != before


def test_column_wise_tables_equal_the_casebook_definition_on_the_reference_cohort(
    coordinator_a, investigator_a
):
    rows, events = reference_rows()
    for i, row in enumerate(rows):
        patient = enter_casebook(coordinator_a, row, events[row["study_id"]], i)
        lock_casebook(patient, investigator_a, TEST_PASSWORD)
    build_casebook(coordinator_a, complete=True)  # not locked: in neither
    fast, reference = build_analysis_tables(), build_analysis_tables_from_casebooks()
    assert fast.n_locked == reference.n_locked == 28
    pd.testing.assert_frame_equal(fast.patients, reference.patients)
    pd.testing.assert_frame_equal(fast.adverse_events, reference.adverse_events)
    assert fast.sha256() == reference.sha256()
