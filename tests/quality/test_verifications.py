"""Source data verification: who marks, what a change drops, the lock rule, progress per centre."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import ApplicationError, ErrorCode
from quality import verifications as sdv
from quality.models import DEFAULT_CRITICAL_FIELDS, StudySettings, Verification
from registry import services as registry_services
from registry.models import AdverseEvent, AuditEvent, Baseline, FollowUp, SecondLineTherapy
from registry.services import SIGNATURE_MEANING
from tests.builders import adverse_event, build_casebook
from tests.factories import TEST_PASSWORD


def mark(user, patient, section, record_id=None, fields=None):
    return sdv.verification_mark(
        user=user, patient=patient, section=section, record_id=record_id, fields=fields
    )


def change_baseline(user, patient, **data):
    record = Baseline.objects.get(patient=patient)
    return registry_services.crf_record_save(
        user=user,
        patient=patient,
        section="baseline",
        data=data,
        expected_version=record.version,
        reason="Corrected from the chart.",
    )


def require_sdv():
    StudySettings.objects.create(lock_requires_sdv=True)


def lock(investigator, patient):
    registry_services.casebook_lock(
        user=investigator, patient=patient, password=TEST_PASSWORD, meaning=SIGNATURE_MEANING
    )


def verify_all_critical(user, patient):
    """Each critical part as a whole: the registration, the single parts, every record."""
    for section in ("registration", "first_line", "second_line"):
        mark(user, patient, section)
    for model, section in ((AdverseEvent, "adverse_events"), (FollowUp, "follow_up")):
        for pk in model.objects.filter(patient=patient).values_list("pk", flat=True):
            mark(user, patient, section, pk)


# -- marking -------------------------------------------------------------------------------------


def test_data_manager_verifies_fields_keeping_the_values(data_manager, casebook):
    rows = mark(data_manager, casebook, "baseline", fields=["weight_kg", "ecog"])
    assert [(v.field, v.value_at_verification) for v in rows] == [
        ("weight_kg", "65.0"),
        ("ecog", "1"),
    ]
    assert all(v.verified_by == data_manager and v.is_valid for v in rows)
    event = AuditEvent.objects.get(patient=casebook, action=AuditEvent.Action.SDV_VERIFY)
    assert event.detail["fields"] == ["weight_kg", "ecog"]


def test_whole_part_verification_has_no_field(data_manager, casebook):
    (row,) = mark(data_manager, casebook, "second_line")
    assert (row.section, row.record_id, row.field) == ("second_line", None, "")


def test_identifier_values_are_not_copied(data_manager, casebook):
    (row,) = mark(data_manager, casebook, "registration", fields=["date_of_birth"])
    assert row.value_at_verification == ""


def test_verifying_twice_keeps_the_first_check(data_manager, casebook):
    first = mark(data_manager, casebook, "baseline", fields=["weight_kg"])
    again = mark(data_manager, casebook, "baseline", fields=["weight_kg"])
    assert first == again
    assert Verification.objects.count() == 1


@pytest.mark.parametrize("who", ["coordinator_a", "investigator_a", "pi_user", "admin_user"])
def test_only_a_data_manager_may_verify(request, who, casebook):
    with pytest.raises(ApplicationError) as info:
        mark(request.getfixturevalue(who), casebook, "baseline")
    assert info.value.code == ErrorCode.FORBIDDEN
    assert not Verification.objects.exists()


def test_verifications_are_seen_through_the_centre_scope(
    data_manager, coordinator_a, coordinator_b, casebook
):
    (row,) = mark(data_manager, casebook, "baseline")
    assert list(sdv.verifications_visible_to(coordinator_a)) == [row]
    assert not sdv.verifications_visible_to(coordinator_b).exists()


def test_a_repeating_part_needs_its_record(data_manager, casebook):
    with pytest.raises(ApplicationError) as info:
        mark(data_manager, casebook, "adverse_events", fields=["grade"])
    assert info.value.fields == {"record": ["Name the record of this repeating part."]}


def test_an_unknown_field_is_refused(data_manager, casebook):
    with pytest.raises(ApplicationError) as info:
        mark(data_manager, casebook, "baseline", fields=["colour"])
    assert info.value.fields == {"field": ["'colour' is not a field of baseline."]}
    assert not Verification.objects.exists()


def test_a_locked_casebook_may_be_verified(data_manager, investigator_a, casebook):
    lock(investigator_a, casebook)
    assert mark(data_manager, casebook, "baseline", fields=["weight_kg"])[0].is_valid


# -- a change drops it ---------------------------------------------------------------------------


def test_a_change_drops_the_changed_fields_and_the_parts_verification(
    data_manager, coordinator_a, casebook, django_capture_on_commit_callbacks
):
    weight, ecog = mark(data_manager, casebook, "baseline", fields=["weight_kg", "ecog"])
    (part,) = mark(data_manager, casebook, "baseline")
    with django_capture_on_commit_callbacks(execute=True):
        change_baseline(coordinator_a, casebook, weight_kg=70)
    weight.refresh_from_db()
    ecog.refresh_from_db()
    part.refresh_from_db()
    assert weight.dropped_at is not None
    assert weight.drop_detail == {
        "field": "weight_kg",
        "old": "65.0",
        "new": "70.0",
        "by": coordinator_a.pk,
    }
    assert part.dropped_at is not None
    assert part.drop_detail == {"fields": ["weight_kg"], "by": coordinator_a.pk}
    assert ecog.is_valid
    event = AuditEvent.objects.get(action=AuditEvent.Action.SDV_DROPPED)
    assert event.user == coordinator_a
    assert set(sdv.dropped_verifications(data_manager)) == {part, weight}


def test_an_unchanged_save_drops_nothing(
    data_manager, coordinator_a, casebook, django_capture_on_commit_callbacks
):
    mark(data_manager, casebook, "baseline", fields=["weight_kg"])
    mark(data_manager, casebook, "baseline")
    with django_capture_on_commit_callbacks(execute=True):
        change_baseline(coordinator_a, casebook, weight_kg=65)
    assert not Verification.objects.filter(dropped_at__isnull=False).exists()


def test_a_change_to_another_record_drops_nothing(
    data_manager, coordinator_a, casebook, django_capture_on_commit_callbacks
):
    event = AdverseEvent.objects.get(patient=casebook)
    mark(data_manager, casebook, "adverse_events", event.pk, ["grade"])
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.crf_record_save(
            user=coordinator_a,
            patient=casebook,
            section="follow_up",
            data={"contact_date": FollowUp.objects.get(patient=casebook).contact_date},
            record_id=FollowUp.objects.get(patient=casebook).pk,
            expected_version=1,
            reason="Re-entered.",
        )
    assert Verification.objects.get().is_valid


def test_deleting_a_record_drops_all_its_verifications(
    data_manager, coordinator_a, casebook, django_capture_on_commit_callbacks
):
    event = AdverseEvent.objects.get(patient=casebook)
    mark(data_manager, casebook, "adverse_events", event.pk, ["grade", "term"])
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.crf_record_delete(
            user=coordinator_a,
            patient=casebook,
            section="adverse_events",
            record_id=event.pk,
            expected_version=event.version,
            reason="Entered twice.",
        )
    assert Verification.objects.filter(dropped_at__isnull=False).count() == 2


def test_a_dropped_field_is_verified_again_in_a_new_row(
    data_manager, coordinator_a, casebook, django_capture_on_commit_callbacks
):
    (old,) = mark(data_manager, casebook, "baseline", fields=["weight_kg"])
    with django_capture_on_commit_callbacks(execute=True):
        change_baseline(coordinator_a, casebook, weight_kg=70)
    (new,) = mark(data_manager, casebook, "baseline", fields=["weight_kg"])
    assert new.pk != old.pk
    assert new.value_at_verification == "70.0"
    assert Verification.objects.count() == 2


# -- critical fields and the lock ----------------------------------------------------------------


def test_without_a_settings_row_the_defaults_hold(db):
    settings = sdv.study_settings()
    assert settings.pk == 1 and not settings.lock_requires_sdv
    assert settings.critical_fields == list(DEFAULT_CRITICAL_FIELDS)
    assert ("second_line", "start_date") in sdv.critical_fields()
    assert ("registration", "inc_confirmed_sclc") in sdv.critical_fields()


def test_missing_critical_lists_each_unverified_value(data_manager, casebook):
    missing = sdv.missing_critical(casebook)
    event = AdverseEvent.objects.get(patient=casebook)
    follow_up = FollowUp.objects.get(patient=casebook)
    # 6 eligibility answers, 1L progression, 2L start and progression, contact date (alive:
    # no death date), AE term and grade.
    assert len(missing) == 12
    assert "second_line.start_date" in missing
    assert f"adverse_events.grade #{event.pk}" in missing
    assert f"follow_up.contact_date #{follow_up.pk}" in missing
    assert not any(m.startswith("follow_up.death_date") for m in missing)
    mark(data_manager, casebook, "second_line", fields=["start_date"])
    assert "second_line.start_date" not in sdv.missing_critical(casebook)


def test_lock_is_refused_while_critical_fields_are_unverified(
    data_manager, investigator_a, casebook
):
    require_sdv()
    verify_all_critical(data_manager, casebook)
    Verification.objects.filter(section="second_line").delete()
    mark(data_manager, casebook, "second_line", fields=["progression_date"])
    with pytest.raises(ApplicationError) as info:
        lock(investigator_a, casebook)
    assert info.value.fields["__all__"] == [
        "source verification missing for 1 critical field: second_line.start_date"
    ]
    casebook.refresh_from_db()
    assert not casebook.is_locked


def test_lock_is_allowed_once_every_critical_value_is_verified(
    data_manager, investigator_a, casebook
):
    require_sdv()
    verify_all_critical(data_manager, casebook)
    lock(investigator_a, casebook)
    casebook.refresh_from_db()
    assert casebook.is_locked


def test_lock_ignores_sdv_when_the_setting_is_off(investigator_a, casebook):
    lock(investigator_a, casebook)
    casebook.refresh_from_db()
    assert casebook.is_locked


def test_unknown_critical_field_names_are_refused_by_the_settings_form(db):
    from django.core.exceptions import ValidationError

    settings = StudySettings(critical_fields=["baseline.weight_kg", "baseline.colour", "x.y"])
    with pytest.raises(ValidationError) as info:
        settings.full_clean()
    assert info.value.message_dict == {"critical_fields": ["Unknown fields: baseline.colour, x.y."]}


# -- progress per centre -------------------------------------------------------------------------


def test_progress_per_centre_counts_verified_critical_values(
    data_manager, coordinator_a, coordinator_b, pi_user
):
    StudySettings.objects.create(critical_fields=["second_line.start_date", "adverse_events.grade"])
    a1 = build_casebook(coordinator_a)  # 1 start date + 1 AE grade
    a2 = build_casebook(coordinator_a, with_ae=False)  # 1 start date
    b1 = build_casebook(coordinator_b, with_ae=False)  # 1 start date
    mark(data_manager, a1, "second_line")  # the whole part: its start date counts
    event = AdverseEvent.objects.get(patient=a1)
    mark(data_manager, a1, "adverse_events", event.pk, ["onset_date"])  # not a critical field
    mark(data_manager, a2, "second_line", fields=["start_date"])
    progress = {
        p.center: (p.critical, p.verified, p.percent) for p in sdv.critical_progress(pi_user)
    }
    assert progress == {"AAA": (3, 2, 66.7), "BBB": (1, 0, 0.0)}
    assert [p.center for p in sdv.critical_progress(coordinator_b)] == ["BBB"]
    assert SecondLineTherapy.objects.filter(patient=b1).exists()


def test_progress_counts_each_value_once_and_only_for_its_own_record_and_patient(
    data_manager, coordinator_a, pi_user
):
    StudySettings.objects.create(critical_fields=["second_line.start_date", "adverse_events.grade"])
    first = build_casebook(coordinator_a)  # 1 start date + 1 AE grade
    registry_services.crf_record_save(
        user=coordinator_a, patient=first, section="adverse_events", data=adverse_event()
    )
    other = build_casebook(coordinator_a, with_ae=False)  # 1 start date
    verified_event, unverified_event = AdverseEvent.objects.filter(patient=first).order_by("pk")
    mark(data_manager, first, "adverse_events", verified_event.pk)  # the whole record
    mark(data_manager, first, "adverse_events", verified_event.pk, ["grade"])  # and its grade
    mark(data_manager, first, "second_line")  # the first patient's part, not the other's
    progress = [(p.critical, p.verified) for p in sdv.critical_progress(pi_user)]
    # 2 start dates + 2 grades entered; the first patient's start date and one grade checked.
    assert progress == [(4, 2)]
    assert unverified_event.grade is not None
    assert SecondLineTherapy.objects.get(patient=other).start_date is not None


def test_progress_counts_a_dropped_verification_as_unverified(
    data_manager, coordinator_a, pi_user, django_capture_on_commit_callbacks
):
    StudySettings.objects.create(critical_fields=["second_line.start_date"])
    patient = build_casebook(coordinator_a)
    mark(data_manager, patient, "second_line", fields=["start_date"])
    record = SecondLineTherapy.objects.get(patient=patient)
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.crf_record_save(
            user=coordinator_a,
            patient=patient,
            section="second_line",
            data={"cycles": 5},
            expected_version=record.version,
        )
    # Another field changed: the field-level verification stays.
    assert [(p.critical, p.verified) for p in sdv.critical_progress(pi_user)] == [(1, 1)]
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.crf_record_save(
            user=coordinator_a,
            patient=patient,
            section="second_line",
            data={"start_date": record.start_date.replace(day=2)},
            expected_version=record.version + 1,
        )
    assert [(p.critical, p.verified) for p in sdv.critical_progress(pi_user)] == [(1, 0)]


def test_cached_progress_follows_every_change_and_skips_the_aggregates_between(
    data_manager, coordinator_a, coordinator_b, pi_user, django_capture_on_commit_callbacks
):
    """The dashboard's cached progress (issue 16) is never stale: a verification, a changed
    value and a new casebook each give a new answer; with nothing changed, the aggregates
    are not run again."""
    StudySettings.objects.create(critical_fields=["second_line.start_date"])
    patient = build_casebook(coordinator_a)

    def cached(user):
        return [(p.center, p.critical, p.verified) for p in sdv.critical_progress_cached(user)]

    assert cached(pi_user) == [("AAA", 1, 0)]
    with CaptureQueriesContext(connection) as again:
        assert cached(pi_user) == [("AAA", 1, 0)]
    assert not any("COUNT(" in q["sql"].upper() for q in again.captured_queries)
    mark(data_manager, patient, "second_line", fields=["start_date"])
    assert cached(pi_user) == [("AAA", 1, 1)]
    record = SecondLineTherapy.objects.get(patient=patient)
    with django_capture_on_commit_callbacks(execute=True):
        registry_services.crf_record_save(
            user=coordinator_a,
            patient=patient,
            section="second_line",
            data={"start_date": record.start_date.replace(day=2)},
            expected_version=record.version,
        )
    assert cached(pi_user) == [("AAA", 1, 0)]
    build_casebook(coordinator_b)
    assert cached(pi_user) == [("AAA", 1, 0), ("BBB", 1, 0)]
    assert cached(coordinator_a) == [("AAA", 1, 0)]  # a scope of its own
    uncached = [(p.center, p.critical, p.verified) for p in sdv.critical_progress(pi_user)]
    assert cached(pi_user) == uncached
