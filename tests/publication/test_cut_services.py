"""Freezing and comparing named data cuts of the demo study (publication.services)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from analytics.models import AnalysisRun
from analytics.stats import __version__ as engine_version
from core.errors import ApplicationError, ErrorCode
from publication import services
from publication.models import DataCut, FrozenCutError
from registry import services as registry_services
from registry.models import AuditEvent, Patient
from tests import people
from tests.conftest import service_missing

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _demo(demo_study):
    return demo_study


@pytest.fixture
def pi(db):
    return people.pi_user()


def test_freeze_keeps_the_locked_data_plan_engine_and_the_runs_bundle(pi):
    run = AnalysisRun.objects.filter(status="done", reused_from__isnull=True).latest("pk")
    cut = services.cut_freeze(user=pi, name="Manuscript v1", note="submission")

    assert (cut.n_locked, cut.n_analysed) == (28, 28)
    assert cut.n_adverse_events == run.bundle["n_adverse_events"]
    assert cut.dataset_sha256 == run.dataset_sha256 == cut.bundle["dataset_sha256"]
    assert cut.plan_version == run.plan.version and cut.plan_sha256 == run.plan.plan_sha256
    assert cut.engine_version == engine_version
    # Same data, plan and engine: the run's bundle is reused, not computed again.
    assert cut.bundle_from_run_id == run.pk and cut.bundle == run.bundle
    # The stored CSV text is the data the bundle was computed on.
    assert services.recompute_dataset_sha256(cut) == cut.dataset_sha256
    assert len(services.cut_patients(cut)) == 28


def test_freeze_lists_every_locked_casebook_with_its_lock_event(pi):
    cut = services.cut_freeze(user=pi, name="Manuscript v1")
    listed = {p["study_id"]: p for p in cut.locked_patients}
    assert set(listed) == set(Patient.objects.values_list("study_id", flat=True))
    patient = Patient.objects.order_by("pk").first()
    lock = AuditEvent.objects.filter(action="lock", patient=patient).latest("pk")
    assert listed[patient.study_id]["lock_event"] == lock.pk
    assert listed[patient.study_id]["version"] == patient.version


def test_freeze_is_audited_with_the_hashes(pi):
    cut = services.cut_freeze(user=pi, name="Manuscript v1")
    event = AuditEvent.objects.get(action=AuditEvent.Action.CUT_FREEZE)
    assert event.user == pi
    assert event.detail["cut"] == cut.pk
    assert event.detail["dataset_sha256"] == cut.dataset_sha256
    assert event.detail["n_analysed"] == 28


def test_a_second_cut_with_the_same_name_is_refused_naming_the_field(pi):
    services.cut_freeze(user=pi, name="Manuscript v1")
    with pytest.raises(ApplicationError) as refused:
        services.cut_freeze(user=pi, name="  manuscript   V1 ")
    assert refused.value.code == ErrorCode.CONFLICT
    assert list(refused.value.fields) == ["name"]
    assert DataCut.objects.count() == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, None, "v1\x00", "v\ud8001"])
def test_a_blank_or_too_long_name_is_refused(pi, name):
    with pytest.raises(ApplicationError) as refused:
        services.cut_freeze(user=pi, name=name)
    assert "name" in refused.value.fields
    assert not DataCut.objects.exists()


@pytest.mark.parametrize("maker", [people.coordinator_a, people.investigator_a])
def test_site_staff_may_not_freeze(maker):
    user = maker(people.center_a())
    with pytest.raises(ApplicationError) as refused:
        services.cut_freeze(user=user, name="Mine")
    assert refused.value.code == ErrorCode.FORBIDDEN
    assert not DataCut.objects.exists()


def test_data_manager_and_admin_may_freeze():
    services.cut_freeze(user=people.data_manager(), name="DM cut")
    services.cut_freeze(user=people.admin_user(), name="Admin cut")
    assert DataCut.objects.count() == 2


def test_compare_lists_a_removed_patient_and_the_numbers_that_moved(pi):
    first = services.cut_freeze(user=pi, name="Before")
    patient = Patient.objects.order_by("pk").first()
    registry_services.casebook_unlock(
        user=people.data_manager(), patient=patient, reason="Correct the ECOG"
    )
    second = services.cut_freeze(user=pi, name="After")

    diff = services.cut_compare(first, second)

    assert diff["patients_removed"] == [patient.study_id]
    assert diff["patients_added"] == [] and diff["patients_changed"] == []
    assert not diff["same_data"] and diff["same_plan"]
    moved = {m["path"]: m for m in diff["numbers_moved"]}
    assert moved["n_patients"]["a"] == 28 and moved["n_patients"]["b"] == 27
    assert moved["km.os.n"]["text"] == "Overall survival n: 28 → 27"
    # Only what moved is listed: every entry differs.
    assert all(m["a"] != m["b"] for m in diff["numbers_moved"])


def test_comparing_a_cut_with_itself_finds_nothing(pi):
    cut = services.cut_freeze(user=pi, name="Manuscript v1")
    diff = services.cut_compare(cut, cut)
    assert diff["same_data"]
    assert diff["patients_added"] == diff["patients_removed"] == diff["patients_changed"] == []
    assert diff["numbers_moved"] == []


def test_bundle_numbers_name_rows_by_key_and_label(pi):
    cut = services.cut_freeze(user=pi, name="Manuscript v1")
    numbers = services.bundle_numbers(cut.bundle)
    words, value = numbers["km.os.median"]
    assert words == "Overall survival median"
    assert value == cut.bundle["km"]["os"]["median"]
    ltr = next(p for p in numbers if p.startswith("cox.univariate[key=ltr") and p.endswith(".hr"))
    assert numbers[ltr] == (
        "univariate Cox LTR vs STR HR",
        next(u["hr"] for u in cut.bundle["cox"]["univariate"] if u["key"] == "ltr"),
    )


def test_a_cut_cannot_be_changed_or_deleted_in_the_database(pi):
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL (the append-only trigger of data cuts)")
    cut = services.cut_freeze(user=pi, name="Manuscript v1")
    for operation in (
        lambda: DataCut.objects.filter(pk=cut.pk).update(note="edited"),
        lambda: DataCut.objects.filter(pk=cut.pk).delete(),
        lambda: connection.cursor().execute(
            "UPDATE publication_datacut SET bundle = '{}'::jsonb WHERE id = %s", [cut.pk]
        ),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            operation()
    cut.refresh_from_db()
    assert cut.note == "" and cut.bundle["n_patients"] == 28


def test_the_model_refuses_to_save_or_delete_a_frozen_cut_on_any_database(pi):
    cut = services.cut_freeze(user=pi, name="Manuscript v1")
    cut.note = "edited"
    with pytest.raises(FrozenCutError):
        cut.save()
    with pytest.raises(FrozenCutError):
        cut.delete()
    assert DataCut.objects.get().note == ""
