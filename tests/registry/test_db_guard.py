"""PostgreSQL refuses writes to a locked casebook even when the model layer is bypassed
(migration 0003_locked_casebook_db_guard). Skipped on SQLite; a failure in CI
(REQUIRE_SERVICES=1) if the database is not PostgreSQL."""

import pytest
from django.db import IntegrityError, connection, transaction

from registry import services
from registry.models import CRF_MODELS, AdverseEvent, Baseline, Patient
from tests import builders
from tests.conftest import service_missing
from tests.factories import TEST_PASSWORD


@pytest.fixture(autouse=True)
def postgresql_only(db):
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL (the locked-casebook triggers)")


@pytest.fixture
def locked(coordinator_a, investigator_a):
    patient = builders.build_casebook(coordinator_a, complete=True)
    builders.lock_casebook(patient, investigator_a, TEST_PASSWORD)
    return patient


def refused(operation) -> bool:
    try:
        with transaction.atomic():
            operation()
    except IntegrityError as error:
        return "locked" in str(error)
    return False


def test_queryset_update_of_a_locked_casebook_is_refused(locked):
    assert refused(lambda: Baseline.objects.filter(patient=locked).update(ecog=3))
    assert Baseline.objects.get(patient=locked).ecog == 1


def test_queryset_delete_of_a_locked_casebook_record_is_refused(locked):
    assert refused(lambda: AdverseEvent.objects.filter(patient=locked).delete())
    assert AdverseEvent.objects.filter(patient=locked).count() == 1


def test_raw_insert_into_a_locked_casebook_is_refused(locked):
    event = AdverseEvent.objects.get(patient=locked)
    event.pk = None
    assert refused(lambda: AdverseEvent.objects.bulk_create([event]))
    assert AdverseEvent.objects.filter(patient=locked).count() == 1


def test_locked_patient_row_cannot_be_updated_in_bulk(locked):
    assert refused(lambda: Patient.objects.filter(pk=locked.pk).update(notes="edited"))


def test_locked_patient_cannot_be_deleted_with_raw_sql(locked):
    # The ORM already stops at the protected audit rows; raw SQL meets the trigger.
    def delete():
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM registry_patient WHERE id = %s", [locked.pk])

    assert refused(delete)
    assert Patient.objects.filter(pk=locked.pk).exists()


def test_unlocking_is_still_possible(locked, data_manager):
    services.casebook_unlock(user=data_manager, patient=locked, reason="correct a date")
    assert Baseline.objects.filter(patient=locked).update(ecog=2) == 1


def test_unlocked_casebook_accepts_bulk_updates(coordinator_a):
    patient = builders.build_casebook(coordinator_a)
    assert Baseline.objects.filter(patient=patient).update(ecog=2) == 1


def test_guard_covers_the_patient_and_every_crf_table():
    # Derived from the CRF model registry: a new CRF model without a trigger fails here.
    expected = sorted([Patient._meta.db_table, *(model._meta.db_table for model in CRF_MODELS)])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
            "WHERE tgname LIKE 'registry_%_locked_guard%' ORDER BY 1"
        )
        tables = [name for (name,) in cursor.fetchall()]
    assert tables == expected
