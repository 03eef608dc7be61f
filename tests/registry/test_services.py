"""Services: audit trail, reasons, locks, signatures, concurrent edits and who may do what."""

from datetime import date

import pytest

from core.errors import ApplicationError, ErrorCode
from registry import services, signals
from registry.models import AdverseEvent, AuditEvent, Baseline, LockedCasebookError, Signature
from registry.services import SIGNATURE_MEANING
from tests import builders
from tests.factories import TEST_PASSWORD, UserFactory

save = services.crf_record_save


@pytest.fixture
def patient(coordinator_a):
    return builders.register_patient(coordinator_a)


@pytest.fixture
def complete(coordinator_a):
    return builders.build_casebook(coordinator_a, complete=True)


@pytest.fixture
def locked(complete, investigator_a):
    builders.lock_casebook(complete, investigator_a, TEST_PASSWORD)
    complete.refresh_from_db()
    return complete


# -- audit trail ---------------------------------------------------------------------------


def test_create_is_recorded_with_user(coordinator_a, patient):
    baseline = save(
        user=coordinator_a, patient=patient, section="baseline", data=builders.baseline()
    )
    record = baseline.history.get()
    assert (record.history_type, record.history_user, record.ecog) == ("+", coordinator_a, 1)


def test_update_is_recorded_with_old_and_new_values_and_reason(coordinator_a, patient):
    baseline = save(
        user=coordinator_a, patient=patient, section="baseline", data=builders.baseline()
    )
    save(
        user=coordinator_a,
        patient=patient,
        section="baseline",
        data={"ecog": 2},
        expected_version=baseline.version,
        reason="ECOG re-read from the clinic letter",
    )
    new, old = baseline.history.order_by("-history_id")[:2]
    change = new.diff_against(old).changes
    assert [(d.field, d.old, d.new) for d in change if d.field == "ecog"] == [("ecog", 1, 2)]
    assert (new.history_user, new.history_change_reason) == (
        coordinator_a,
        "ECOG re-read from the clinic letter",
    )


def test_delete_is_recorded_with_user_and_reason(coordinator_a, patient):
    for section, data in (
        ("baseline", builders.baseline()),
        ("first_line", builders.first_line()),
        ("second_line", builders.second_line()),
    ):
        save(user=coordinator_a, patient=patient, section=section, data=data)
    event = save(
        user=coordinator_a, patient=patient, section="adverse_events", data=builders.adverse_event()
    )
    services.crf_record_delete(
        user=coordinator_a,
        patient=patient,
        section="adverse_events",
        record_id=event.pk,
        expected_version=event.version,
        reason="Entered in the wrong casebook",
    )
    deleted = AdverseEvent.history.filter(id=event.pk, history_type="-").get()
    audit = AuditEvent.objects.get(action=AuditEvent.Action.DELETE)
    assert (deleted.history_user, deleted.history_change_reason) == (
        coordinator_a,
        "Entered in the wrong casebook",
    )
    assert (audit.user, audit.reason, audit.patient) == (
        coordinator_a,
        "Entered in the wrong casebook",
        patient,
    )
    assert not AdverseEvent.objects.exists()


def test_delete_without_reason_is_refused(coordinator_a, complete):
    event = complete.adverse_events.get()
    with pytest.raises(ApplicationError) as info:
        services.crf_record_delete(
            user=coordinator_a,
            patient=complete,
            section="adverse_events",
            record_id=event.pk,
            expected_version=event.version,
            reason=" ",
        )
    assert "reason" in info.value.fields
    assert AdverseEvent.objects.filter(pk=event.pk).exists()


def test_change_after_part_marked_complete_needs_a_reason(coordinator_a, patient):
    baseline = save(
        user=coordinator_a, patient=patient, section="baseline", data=builders.baseline()
    )
    services.section_mark_complete(user=coordinator_a, patient=patient, section="baseline")
    with pytest.raises(ApplicationError) as info:
        save(
            user=coordinator_a,
            patient=patient,
            section="baseline",
            data={"ecog": 2},
            expected_version=baseline.version,
        )
    assert "reason" in info.value.fields
    assert Baseline.objects.get().ecog == 1


def test_change_before_part_marked_complete_needs_no_reason(coordinator_a, patient):
    baseline = save(
        user=coordinator_a, patient=patient, section="baseline", data=builders.baseline()
    )
    save(
        user=coordinator_a,
        patient=patient,
        section="baseline",
        data={"ecog": 2},
        expected_version=baseline.version,
    )
    assert Baseline.objects.get().ecog == 2


# -- concurrent edits ----------------------------------------------------------------------


def test_second_save_of_a_stale_form_is_refused_naming_who_changed_it(
    coordinator_a, investigator_a, patient
):
    baseline = save(
        user=coordinator_a, patient=patient, section="baseline", data=builders.baseline()
    )
    read_version = baseline.version
    save(
        user=investigator_a,
        patient=patient,
        section="baseline",
        data={"ecog": 2},
        expected_version=read_version,
    )
    with pytest.raises(ApplicationError) as info:
        save(
            user=coordinator_a,
            patient=patient,
            section="baseline",
            data={"ecog": 0},
            expected_version=read_version,
        )
    assert info.value.code == ErrorCode.STALE
    assert info.value.message.startswith("This form was changed by ivan at ")
    assert info.value.message.endswith("; reload it and enter your change again.")
    assert Baseline.objects.get().ecog == 2


# -- locking -------------------------------------------------------------------------------


def test_locked_casebook_refuses_service_writes(coordinator_a, locked):
    with pytest.raises(ApplicationError) as info:
        save(
            user=coordinator_a,
            patient=locked,
            section="adverse_events",
            data=builders.adverse_event(onset_date=date(2021, 4, 1)),
        )
    assert info.value.code == ErrorCode.LOCKED
    assert AdverseEvent.objects.count() == 1


def test_locked_casebook_refuses_direct_model_save(locked):
    event = AdverseEvent.objects.get(patient=locked)
    event.grade = 2
    with pytest.raises(LockedCasebookError):
        event.save()
    assert AdverseEvent.objects.get().grade == 1


def test_locked_casebook_refuses_direct_model_delete(locked):
    with pytest.raises(LockedCasebookError):
        AdverseEvent.objects.get(patient=locked).delete()
    assert AdverseEvent.objects.count() == 1


def test_locked_patient_row_refuses_direct_save(locked):
    locked.notes = "changed in the shell"
    with pytest.raises(LockedCasebookError):
        locked.save()


def test_lock_records_a_signature_with_who_when_and_meaning(investigator_a, complete):
    signature = services.casebook_lock(
        user=investigator_a, patient=complete, password=TEST_PASSWORD, meaning=SIGNATURE_MEANING
    )
    complete.refresh_from_db()
    assert complete.casebook_status == "locked"
    assert (signature.signed_by, signature.meaning) == (investigator_a, SIGNATURE_MEANING)
    assert signature.signed_at is not None


def test_data_manager_may_lock(data_manager, complete):
    services.casebook_lock(
        user=data_manager, patient=complete, password=TEST_PASSWORD, meaning=SIGNATURE_MEANING
    )
    complete.refresh_from_db()
    assert complete.casebook_status == "locked"


def test_coordinator_may_not_lock(coordinator_a, complete):
    with pytest.raises(ApplicationError) as info:
        services.casebook_lock(
            user=coordinator_a, patient=complete, password=TEST_PASSWORD, meaning=SIGNATURE_MEANING
        )
    assert info.value.code == ErrorCode.FORBIDDEN


def test_wrong_password_refuses_the_lock_and_is_audited(investigator_a, complete):
    with pytest.raises(ApplicationError) as info:
        services.casebook_lock(
            user=investigator_a, patient=complete, password="wrong", meaning=SIGNATURE_MEANING
        )
    complete.refresh_from_db()
    assert "password" in info.value.fields
    assert complete.casebook_status == "complete"
    refused = AuditEvent.objects.get(action=AuditEvent.Action.LOCK_REFUSED)
    assert (refused.user, refused.patient) == (investigator_a, complete)


def test_lock_needs_the_exact_signature_statement(investigator_a, complete):
    with pytest.raises(ApplicationError) as info:
        services.casebook_lock(
            user=investigator_a, patient=complete, password=TEST_PASSWORD, meaning="I agree"
        )
    assert "meaning" in info.value.fields
    assert not Signature.objects.exists()


def test_incomplete_casebook_cannot_be_locked(coordinator_a, investigator_a):
    patient = builders.build_casebook(coordinator_a, complete=False)
    with pytest.raises(ApplicationError):
        services.casebook_lock(
            user=investigator_a, patient=patient, password=TEST_PASSWORD, meaning=SIGNATURE_MEANING
        )
    assert not Signature.objects.exists()


def test_investigator_of_another_centre_gets_not_found(center_b, complete):
    other = UserFactory(username="ines", role="investigator", center=center_b)
    with pytest.raises(ApplicationError) as info:
        services.casebook_lock(
            user=other, patient=complete, password=TEST_PASSWORD, meaning=SIGNATURE_MEANING
        )
    assert info.value.code == ErrorCode.NOT_FOUND


def test_wrong_password_on_another_centres_casebook_is_not_found_and_not_logged(center_b, complete):
    other = UserFactory(username="ines", role="investigator", center=center_b)
    with pytest.raises(ApplicationError) as info:
        services.casebook_lock(
            user=other, patient=complete, password="wrong", meaning=SIGNATURE_MEANING
        )
    assert info.value.code == ErrorCode.NOT_FOUND
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.LOCK_REFUSED).exists()


def test_lock_notifies_listeners_after_commit(
    investigator_a, complete, django_capture_on_commit_callbacks
):
    heard = []

    def listener(sender, patient, user, event, **kwargs):
        heard.append((patient.pk, user.pk, event.action))

    signals.casebook_locked.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            builders.lock_casebook(complete, investigator_a, TEST_PASSWORD)
        assert heard == []  # nothing before the commit
        for callback in callbacks:
            callback()
    finally:
        signals.casebook_locked.disconnect(listener)
    assert heard == [(complete.pk, investigator_a.pk, "lock")]


def test_data_manager_unlock_with_reason_voids_the_signature(data_manager, locked):
    services.casebook_unlock(user=data_manager, patient=locked, reason="Correct the AE grade")
    locked.refresh_from_db()
    signature = Signature.objects.get(patient=locked)
    assert locked.casebook_status == "complete"
    assert (signature.voided_by, signature.void_reason) == (data_manager, "Correct the AE grade")
    assert AuditEvent.objects.get(action=AuditEvent.Action.UNLOCK).reason == "Correct the AE grade"


def test_unlock_needs_a_reason(data_manager, locked):
    with pytest.raises(ApplicationError) as info:
        services.casebook_unlock(user=data_manager, patient=locked, reason="")
    locked.refresh_from_db()
    assert "reason" in info.value.fields
    assert locked.casebook_status == "locked"


def test_investigator_may_not_unlock(investigator_a, locked):
    with pytest.raises(ApplicationError) as info:
        services.casebook_unlock(user=investigator_a, patient=locked, reason="typo")
    assert info.value.code == ErrorCode.FORBIDDEN


# -- roles and centres ---------------------------------------------------------------------


def test_pi_cannot_write_crf_data(pi_user, patient):
    with pytest.raises(ApplicationError) as info:
        save(user=pi_user, patient=patient, section="baseline", data=builders.baseline())
    assert info.value.code == ErrorCode.FORBIDDEN
    assert not Baseline.objects.exists()


def test_other_centre_coordinator_gets_not_found(coordinator_b, patient):
    with pytest.raises(ApplicationError) as info:
        save(user=coordinator_b, patient=patient, section="baseline", data=builders.baseline())
    assert info.value.code == ErrorCode.NOT_FOUND
    assert not Baseline.objects.exists()


def test_coordinator_cannot_register_at_another_centre(coordinator_a, center_b):
    with pytest.raises(ApplicationError) as info:
        services.patient_register(user=coordinator_a, center=center_b, data=builders.registration())
    assert info.value.code == ErrorCode.FORBIDDEN


@pytest.fixture
def entered(coordinator_a):
    """A casebook with every part entered, none marked complete (no reason needed)."""
    return builders.build_casebook(coordinator_a)


@pytest.fixture
def changes():
    """What casebook_changed announced, as (section, fields, deleted) tuples."""
    heard = []

    def listen(sender, patient, section, record_id, fields, deleted, **kwargs):
        heard.append((section, fields, deleted))

    signals.casebook_changed.connect(listen, dispatch_uid="test-changes")
    yield heard
    signals.casebook_changed.disconnect(dispatch_uid="test-changes")


def test_an_edit_announces_the_fields_whose_value_changed(
    coordinator_a, entered, changes, django_capture_on_commit_callbacks
):
    baseline = Baseline.objects.get(patient=entered)
    data = builders.baseline(weight_kg="56", ecog=1)  # ecog as before: not a change
    with django_capture_on_commit_callbacks(execute=True):
        services.crf_record_save(
            user=coordinator_a,
            patient=entered,
            section="baseline",
            data=data,
            expected_version=baseline.version,
        )
    assert changes == [("baseline", ["weight_kg"], False)]


def test_saving_unchanged_values_announces_nothing(
    coordinator_a, entered, changes, django_capture_on_commit_callbacks
):
    baseline = Baseline.objects.get(patient=entered)
    with django_capture_on_commit_callbacks(execute=True):
        services.crf_record_save(
            user=coordinator_a,
            patient=entered,
            section="baseline",
            data=builders.baseline(),
            expected_version=baseline.version,
        )
    assert changes == []


def test_a_deletion_is_announced_after_commit_only(
    coordinator_a, entered, changes, django_capture_on_commit_callbacks
):
    event = AdverseEvent.objects.get(patient=entered)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.crf_record_delete(
            user=coordinator_a,
            patient=entered,
            section="adverse_events",
            record_id=event.pk,
            expected_version=event.version,
            reason="entered twice",
        )
    assert changes == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert changes == [("adverse_events", [], True)]


@pytest.mark.django_db(transaction=True)
def test_a_casebook_saved_part_by_part_in_one_transaction_is_announced_saved_once(coordinator_a):
    from django.db import transaction

    # Real commits (a transactional test): each service call below commits on its own, then
    # two edits share one outer transaction.
    patient = builders.build_casebook(coordinator_a)
    saved = []

    def listen(sender, patient, **kwargs):
        saved.append(patient.pk)

    signals.casebook_saved.connect(listen, dispatch_uid="test-saved")
    try:
        baseline = Baseline.objects.get(patient=patient)
        event = AdverseEvent.objects.get(patient=patient)
        with transaction.atomic():
            services.crf_record_save(
                user=coordinator_a,
                patient=patient,
                section="baseline",
                data=builders.baseline(weight_kg="56"),
                expected_version=baseline.version,
            )
            services.crf_record_save(
                user=coordinator_a,
                patient=patient,
                section="adverse_events",
                record_id=event.pk,
                data={"grade": 3},
                expected_version=event.version,
            )
            assert saved == []  # nothing before the commit
    finally:
        signals.casebook_saved.disconnect(dispatch_uid="test-saved")
    assert saved == [patient.pk]
