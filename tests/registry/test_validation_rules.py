"""Each validation rule, through the services: refused with a message naming the field, and
nothing saved. Dates follow tests.builders (diagnosis 2020-01-10, 1L 2020-01-20 ->
2021-02-15, 2L start 2021-03-01)."""

from datetime import date

import pytest

from core.errors import ApplicationError
from registry import services
from registry.models import AdverseEvent, Baseline, FollowUp, Patient, TumourAssessment
from tests import builders

save = services.crf_record_save


def refused(user, patient, section, data) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        save(user=user, patient=patient, section=section, data=data)
    return info.value


@pytest.fixture
def patient(coordinator_a):
    return builders.register_patient(coordinator_a)


@pytest.fixture
def treated(coordinator_a, patient):
    """Baseline, first line and second line entered."""
    for section, data in (
        ("baseline", builders.baseline()),
        ("first_line", builders.first_line()),
        ("second_line", builders.second_line()),
    ):
        save(user=coordinator_a, patient=patient, section=section, data=data)
    return patient


def dead(**overrides):
    data = {
        "contact_date": date(2021, 9, 10),
        "vital_status": "dead",
        "death_date": date(2021, 9, 1),
        "death_cause": "progression",
        **overrides,
    }
    return builders.follow_up(**data)


# -- ranges --------------------------------------------------------------------------------


@pytest.mark.parametrize("ecog", [-1, 5])
def test_ecog_outside_0_to_4_is_refused(coordinator_a, patient, ecog):
    error = refused(coordinator_a, patient, "baseline", builders.baseline(ecog=ecog))
    assert "ecog" in error.fields
    assert not Baseline.objects.exists()


@pytest.mark.parametrize("height", [99, 251])
def test_height_outside_100_to_250_cm_is_refused(coordinator_a, patient, height):
    error = refused(coordinator_a, patient, "baseline", builders.baseline(height_cm=height))
    assert "height_cm" in error.fields


@pytest.mark.parametrize("weight", [24, 301])
def test_weight_outside_25_to_300_kg_is_refused(coordinator_a, patient, weight):
    error = refused(coordinator_a, patient, "baseline", builders.baseline(weight_kg=weight))
    assert "weight_kg" in error.fields


@pytest.mark.parametrize("grade", [0, 6])
def test_ae_grade_outside_1_to_5_is_refused(coordinator_a, treated, grade):
    error = refused(coordinator_a, treated, "adverse_events", builders.adverse_event(grade=grade))
    assert "grade" in error.fields
    assert not AdverseEvent.objects.exists()


def test_negative_target_sum_is_refused_so_shrinkage_stays_at_most_100_percent(
    coordinator_a, treated
):
    error = refused(coordinator_a, treated, "assessments", builders.assessment(target_sum_mm=-1))
    assert "target_sum_mm" in error.fields
    assert not TumourAssessment.objects.exists()


# -- clinical date order -------------------------------------------------------------------


def test_diagnosis_after_registration_is_refused(coordinator_a, patient):
    data = builders.baseline(diagnosis_date=date(2021, 3, 3))
    error = refused(coordinator_a, patient, "baseline", data)
    assert error.fields["diagnosis_date"] == [
        "Diagnosis date must not be after the registration date (2 Mar 2021)."
    ]


def test_first_line_start_before_diagnosis_is_refused(coordinator_a, patient):
    save(user=coordinator_a, patient=patient, section="baseline", data=builders.baseline())
    data = builders.first_line(start_date=date(2020, 1, 9))
    error = refused(coordinator_a, patient, "first_line", data)
    assert error.fields["start_date"] == [
        "Atezolizumab start date must not be before the diagnosis date (10 Jan 2020)."
    ]


def test_first_line_progression_before_its_start_is_refused(coordinator_a, patient):
    data = builders.first_line(progression_date=date(2020, 1, 19))
    error = refused(coordinator_a, patient, "first_line", data)
    assert "progression_date" in error.fields


def test_second_line_start_before_first_line_progression_is_refused(coordinator_a, patient):
    save(user=coordinator_a, patient=patient, section="first_line", data=builders.first_line())
    data = builders.second_line(start_date=date(2021, 2, 14))
    error = refused(coordinator_a, patient, "second_line", data)
    assert error.fields["start_date"] == [
        "2L start date must not be before the 1L progression date (15 Feb 2021)."
    ]


def test_second_line_progression_before_its_start_is_refused(coordinator_a, patient):
    data = builders.second_line(progression_date=date(2021, 2, 28), end_date=date(2021, 3, 5))
    error = refused(coordinator_a, patient, "second_line", data)
    assert "progression_date" in error.fields


def test_ae_onset_before_second_line_start_is_refused(coordinator_a, treated):
    data = builders.adverse_event(onset_date=date(2021, 2, 28))
    error = refused(coordinator_a, treated, "adverse_events", data)
    assert error.fields["onset_date"] == [
        "Onset date must not be before the 2L start date (1 Mar 2021)."
    ]


def test_ae_resolution_before_onset_is_refused(coordinator_a, treated):
    data = builders.adverse_event(onset_date=date(2021, 4, 10), resolution_date=date(2021, 4, 9))
    error = refused(coordinator_a, treated, "adverse_events", data)
    assert "resolution_date" in error.fields


def test_first_line_assessment_after_second_line_start_is_refused(coordinator_a, treated):
    data = builders.assessment(assessment_date=date(2021, 3, 2), line="1L")
    error = refused(coordinator_a, treated, "assessments", data)
    assert "assessment_date" in error.fields


# -- death ---------------------------------------------------------------------------------


def test_death_date_with_vital_status_alive_is_refused(coordinator_a, treated):
    error = refused(coordinator_a, treated, "follow_up", dead(vital_status="alive"))
    assert "vital_status" in error.fields
    assert not FollowUp.objects.exists()


def test_vital_status_dead_without_death_date_is_refused(coordinator_a, treated):
    error = refused(coordinator_a, treated, "follow_up", dead(death_date=None))
    assert "death_date" in error.fields


def test_death_before_second_line_start_is_refused(coordinator_a, treated):
    data = dead(death_date=date(2021, 2, 20))
    error = refused(coordinator_a, treated, "follow_up", data)
    assert "death_date" in error.fields


def test_adverse_event_after_death_is_refused(coordinator_a, treated):
    save(user=coordinator_a, patient=treated, section="follow_up", data=dead())
    data = builders.adverse_event(onset_date=date(2021, 9, 2))
    error = refused(coordinator_a, treated, "adverse_events", data)
    assert error.fields["onset_date"] == [
        "Onset date must not be after the death date (1 Sep 2021)."
    ]


def test_alive_contact_after_death_is_refused(coordinator_a, treated):
    save(user=coordinator_a, patient=treated, section="follow_up", data=dead())
    data = builders.follow_up(contact_date=date(2021, 10, 1), vital_status="alive")
    error = refused(coordinator_a, treated, "follow_up", data)
    assert "contact_date" in error.fields


def test_lost_to_follow_up_after_death_is_refused(coordinator_a, treated):
    save(user=coordinator_a, patient=treated, section="follow_up", data=dead())
    data = builders.follow_up(
        contact_date=date(2021, 10, 1), vital_status="lost", progression_status="unknown"
    )
    error = refused(coordinator_a, treated, "follow_up", data)
    assert error.fields["contact_date"] == [
        "Contact date must not be after the death date (the patient is reported lost to "
        "follow-up) (1 Sep 2021)."
    ]


def test_second_line_progression_after_death_is_refused(coordinator_a, treated):
    save(user=coordinator_a, patient=treated, section="follow_up", data=dead())
    second = treated.second_line
    with pytest.raises(ApplicationError) as info:
        save(
            user=coordinator_a,
            patient=treated,
            section="second_line",
            data={"progression_date": date(2021, 9, 5), "end_date": date(2021, 9, 5)},
            expected_version=second.version,
        )
    assert "progression_date" in info.value.fields


def test_grade_5_adverse_event_without_a_death_is_refused(coordinator_a, treated):
    data = builders.adverse_event(grade=5, outcome="fatal")
    error = refused(coordinator_a, treated, "adverse_events", data)
    assert "grade" in error.fields


def test_grade_5_adverse_event_is_accepted_once_the_death_is_recorded(coordinator_a, treated):
    save(user=coordinator_a, patient=treated, section="follow_up", data=dead())
    data = builders.adverse_event(grade=5, outcome="fatal", onset_date=date(2021, 8, 30))
    event = save(user=coordinator_a, patient=treated, section="adverse_events", data=data)
    assert event.grade == 5


def test_grade_5_adverse_event_must_be_fatal(coordinator_a, treated):
    save(user=coordinator_a, patient=treated, section="follow_up", data=dead())
    data = builders.adverse_event(grade=5, outcome="recovered", onset_date=date(2021, 8, 30))
    error = refused(coordinator_a, treated, "adverse_events", data)
    assert "outcome" in error.fields


# -- registration --------------------------------------------------------------------------


def test_ineligible_patient_is_a_screen_failure_with_the_failed_criterion(coordinator_a):
    patient = builders.register_patient(coordinator_a, exc_autoimmune_disease=True)
    assert patient.enrolment_status == "screen_failure"
    assert patient.screen_failure_reason == "Exclusion 2: autoimmune disease (answered yes)"


def test_screen_failure_has_no_casebook_to_fill(coordinator_a):
    patient = builders.register_patient(coordinator_a, inc_extensive_stage=False)
    error = refused(coordinator_a, patient, "baseline", builders.baseline())
    assert error.message == "A screen failure has no casebook to fill."


def test_study_ids_are_centre_code_and_a_sequence_per_centre(coordinator_a, coordinator_b):
    first = builders.register_patient(coordinator_a)
    second = builders.register_patient(coordinator_a)
    other = builders.register_patient(coordinator_b)
    assert [first.study_id, second.study_id, other.study_id] == [
        "AAA-0001",
        "AAA-0002",
        "BBB-0001",
    ]


def test_mrn_is_refused_twice_at_one_centre(coordinator_a):
    builders.register_patient(coordinator_a, mrn="H-123")
    with pytest.raises(ApplicationError) as info:
        builders.register_patient(coordinator_a, mrn="H-123")
    assert "mrn" in info.value.fields
    assert Patient.objects.count() == 1


def test_same_mrn_is_allowed_at_another_centre(coordinator_a, coordinator_b):
    builders.register_patient(coordinator_a, mrn="H-123")
    other = builders.register_patient(coordinator_b, mrn="H-123")
    assert other.study_id == "BBB-0001"


def test_changing_mrn_to_one_already_used_at_the_centre_is_refused(coordinator_a):
    builders.register_patient(coordinator_a, mrn="H-1")
    second = builders.register_patient(coordinator_a, mrn="H-2")
    with pytest.raises(ApplicationError) as info:
        save(
            user=coordinator_a,
            patient=second,
            section="registration",
            data={"mrn": "H-1"},
            expected_version=second.version,
        )
    assert "mrn" in info.value.fields
    assert Patient.objects.get(pk=second.pk).mrn == "H-2"


def test_patient_under_18_at_registration_is_refused(coordinator_a):
    with pytest.raises(ApplicationError) as info:
        builders.register_patient(coordinator_a, date_of_birth=date(2003, 3, 3))
    assert "date_of_birth" in info.value.fields
