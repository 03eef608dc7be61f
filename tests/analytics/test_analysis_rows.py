"""The stored analysis rows (issue 16): written in the lock's own transaction, removed by the
unlock's, equal to the casebook definition, verified and repaired by ``analysis_rows``."""

from __future__ import annotations

import pandas as pd
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from analytics.datasets import (
    build_analysis_tables,
    build_analysis_tables_from_casebooks,
    stored_analysis_tables,
)
from analytics.models import AnalysisAdverseEventRow, AnalysisRow
from registry import choices as c
from registry import services
from registry.models import Patient
from tests.analytics.reference_cohort import enter_casebook, reference_rows
from tests.builders import build_casebook, bulk_casebooks, lock_casebook
from tests.factories import TEST_PASSWORD


def _assert_stored_equal_the_definition() -> None:
    stored, reference = stored_analysis_tables(), build_analysis_tables_from_casebooks()
    assert stored.n_locked == reference.n_locked
    # Exact: the engine's numbers must not move by a last bit between a rebuild and a run.
    pd.testing.assert_frame_equal(stored.patients, reference.patients, check_exact=True)
    pd.testing.assert_frame_equal(stored.adverse_events, reference.adverse_events, check_exact=True)
    assert stored.sha256() == reference.sha256()


def test_a_lock_writes_the_rows_and_an_unlock_removes_them(
    coordinator_a, investigator_a, data_manager
):
    patient = build_casebook(coordinator_a, complete=True)
    assert not AnalysisRow.objects.exists()
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    row = AnalysisRow.objects.get(patient=patient)
    assert (row.study_id, row.analysed, row.os_event) == (patient.study_id, True, 0)
    assert AnalysisAdverseEventRow.objects.filter(patient=patient).count() == 1
    services.casebook_unlock(user=data_manager, patient=patient, reason="Correct the AE grade")
    assert not AnalysisRow.objects.filter(patient=patient).exists()
    assert not AnalysisAdverseEventRow.objects.filter(patient=patient).exists()


def test_rows_are_written_in_the_locks_transaction(coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    with pytest.raises(RuntimeError), transaction.atomic():
        lock_casebook(patient, investigator_a, TEST_PASSWORD)
        assert AnalysisRow.objects.filter(patient=patient).exists()
        raise RuntimeError("the lock's transaction fails after the rows were written")
    assert Patient.objects.get(pk=patient.pk).casebook_status != c.CasebookStatus.LOCKED
    assert not AnalysisRow.objects.exists()


def test_stored_rows_equal_the_definition_through_locks_unlocks_and_bulk(
    coordinator_a, investigator_a, data_manager, center_a
):
    rows, events = reference_rows()
    patients = []
    for i, row in enumerate(rows):
        patient = enter_casebook(coordinator_a, row, events[row["study_id"]], i)
        lock_casebook(patient, investigator_a, TEST_PASSWORD)
        patients.append(patient)
    for patient in patients[:3]:
        services.casebook_unlock(user=data_manager, patient=patient, reason="Source check")
    lock_casebook(patients[1], investigator_a, TEST_PASSWORD)
    bulk_casebooks(center_a, 12, lock=True, seed=3)
    build_casebook(coordinator_a, complete=True)  # not locked: in neither
    assert AnalysisRow.objects.count() == 28 - 2 + 12
    _assert_stored_equal_the_definition()


def test_a_lock_behind_the_services_back_is_healed_before_a_run(center_a):
    bulk_casebooks(center_a, 4, lock=True, seed=1)
    sneaked = bulk_casebooks(center_a, 1, lock=False, seed=2)[0]
    Patient.objects.filter(pk=sneaked.pk).update(casebook_status=c.CasebookStatus.LOCKED)
    assert stored_analysis_tables().n_locked == 4
    tables = build_analysis_tables()
    assert tables.n_locked == 5
    _assert_stored_equal_the_definition()


def test_verify_names_a_difference_and_rebuild_repairs_it(center_a, capsys):
    bulk_casebooks(center_a, 6, lock=True, seed=4)
    call_command("analysis_rows", "--verify")
    assert "equal a full rebuild" in capsys.readouterr().out
    tampered = AnalysisRow.objects.filter(analysed=True).order_by("sequence").first()
    AnalysisRow.objects.filter(pk=tampered.pk).update(os_months=999.0)
    AnalysisAdverseEventRow.objects.filter(patient_id=tampered.pk).delete()
    with pytest.raises(CommandError, match="--rebuild") as refused:
        call_command("analysis_rows", "--verify")
    assert refused.value.returncode == 1
    err = capsys.readouterr().err
    assert "patients:" in err and "os_months" in err
    call_command("analysis_rows", "--rebuild")
    assert "Rebuilt the analysis rows of 6 locked casebooks" in capsys.readouterr().out
    call_command("analysis_rows", "--verify")
    _assert_stored_equal_the_definition()


@pytest.mark.django_db(transaction=True)
def test_a_run_outside_any_transaction_reads_the_events_on_a_second_connection(
    center_a, monkeypatch
):
    # Committed data and no caller's transaction: the events are read on a second connection
    # in the same snapshot as the patients (analytics.datasets._beside); the tables must be
    # those of the definition all the same.
    from django.db import connection

    from analytics import datasets

    bulk_casebooks(center_a, 15, lock=True, seed=5)
    assert not connection.in_atomic_block
    connections_used = []
    real_beside = datasets._beside

    def watching(read):
        def reading(reader):
            connections_used.append(reader)
            return read(reader)

        return real_beside(reading)

    monkeypatch.setattr(datasets, "_beside", watching)
    tables = build_analysis_tables()
    assert len(connections_used) == 1 and connections_used[0] is not None
    reference = build_analysis_tables_from_casebooks()
    pd.testing.assert_frame_equal(tables.patients, reference.patients, check_exact=True)
    pd.testing.assert_frame_equal(tables.adverse_events, reference.adverse_events, check_exact=True)
    assert tables.sha256() == reference.sha256()
