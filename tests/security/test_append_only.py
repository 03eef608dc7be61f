"""PostgreSQL keeps signatures, their voids, audit events, section completions and the field
history append-only, whatever the client (registry migrations 0009 and 0010): raw SQL UPDATE
and DELETE are refused; voiding a signature adds a row. Skipped on SQLite; a failure in CI
(REQUIRE_SERVICES=1) if the database is not PostgreSQL."""

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from registry import services
from registry.models import (
    AuditEvent,
    Baseline,
    Patient,
    SectionCompletion,
    Signature,
    SignatureVoid,
)
from tests import builders
from tests.conftest import service_missing
from tests.factories import TEST_PASSWORD


@pytest.fixture(autouse=True)
def postgresql_only(db):
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL (the append-only triggers)")


@pytest.fixture
def locked(coordinator_a, investigator_a):
    patient = builders.build_casebook(coordinator_a, complete=True)
    builders.lock_casebook(patient, investigator_a, TEST_PASSWORD)
    return patient


@pytest.fixture
def unlocked(locked, data_manager):
    """A casebook locked once and unlocked: it holds a signature and that signature's void."""
    services.casebook_unlock(user=data_manager, patient=locked, reason="Correct the AE grade")
    return locked


def refused(sql: str, params: list) -> bool:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as error:
        return "append-only" in str(error)
    return False


def _table(model) -> str:
    return model._meta.db_table


APPEND_ONLY = [
    AuditEvent,
    SectionCompletion,
    Patient.history.model,
    Baseline.history.model,
]


@pytest.mark.parametrize("model", APPEND_ONLY, ids=lambda m: m.__name__)
def test_raw_update_is_refused(locked, model):
    row = model.objects.order_by("pk").first()
    column = "history_change_reason" if model.__name__.startswith("Historical") else None
    column = column or ("reason" if model is AuditEvent else "completed_at")
    value = "rewritten" if column != "completed_at" else timezone.now()
    pk = model._meta.pk.column
    sql = f"UPDATE {_table(model)} SET {column} = %s WHERE {pk} = %s"  # noqa: S608 - model names
    assert refused(sql, [value, row.pk])
    assert model.objects.filter(pk=row.pk).exclude(**{column: value}).exists()


@pytest.mark.parametrize(
    "model", [*APPEND_ONLY, Signature, SignatureVoid], ids=lambda m: m.__name__
)
def test_raw_delete_is_refused(unlocked, model):
    before = model.objects.count()
    assert before > 0
    assert refused(f"DELETE FROM {_table(model)}", [])  # noqa: S608 - a model's table name
    assert model.objects.count() == before


def test_every_history_table_is_guarded(db):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT event_object_table FROM information_schema.triggers "
            "WHERE trigger_name LIKE %s",
            ["%append_only"],
        )
        guarded = {row[0] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_name LIKE %s",
            ["registry\\_historical%"],
        )
        history = {row[0] for row in cursor.fetchall()}
    assert history and history <= guarded
    assert {
        "registry_signature",
        "registry_signaturevoid",
        "registry_auditevent",
        "registry_sectioncompletion",
    } <= guarded


def test_signature_fields_cannot_be_rewritten(locked):
    signature = Signature.objects.get(patient=locked)
    assert refused(
        "UPDATE registry_signature SET meaning = %s WHERE id = %s", ["I did not sign", signature.pk]
    )
    assert Signature.objects.get(pk=signature.pk).meaning == signature.meaning


def test_unlock_adds_a_void_row_and_leaves_the_signature_as_signed(unlocked, data_manager):
    signature = Signature.objects.get(patient=unlocked)
    void = SignatureVoid.objects.get(signature=signature)
    assert (void.voided_by, void.reason) == (data_manager, "Correct the AE grade")
    assert not Signature.objects.filter(patient=unlocked).valid().exists()
    # The void is final: it cannot be reworded, moved to another signature or withdrawn.
    assert refused(
        "UPDATE registry_signaturevoid SET reason = %s WHERE id = %s", ["other", void.pk]
    )
    assert refused("DELETE FROM registry_signaturevoid WHERE id = %s", [void.pk])
    assert SignatureVoid.objects.get(pk=void.pk).reason == "Correct the AE grade"


def test_a_second_lock_signs_anew_beside_the_voided_signature(unlocked, investigator_a):
    builders.lock_casebook(unlocked, investigator_a, TEST_PASSWORD)
    signatures = Signature.objects.filter(patient=unlocked)
    assert signatures.count() == 2
    assert signatures.valid().count() == 1
    assert signatures.valid().get().void_reason == ""
    assert signatures.filter(void__isnull=False).get().voided_by is not None


def test_inserting_new_rows_still_works(locked, data_manager):
    before = AuditEvent.objects.count()
    services.casebook_unlock(user=data_manager, patient=locked, reason="Correct the AE grade")
    assert AuditEvent.objects.count() == before + 1
