"""``Casebook.analysis_row`` and ``adverse_event_rows`` on a casebook entered through the
services (tests.builders: 2L start 2021-03-01, DOB 1957-06-15, 170 cm / 65 kg, 1L
2020-01-20 -> 2021-02-15, 1L sums 100 -> 60 mm, 2L progression 2021-08-01, alive 2022-01-10)."""

from datetime import date

import pytest

from registry import services
from registry.casebook import load_casebook
from tests import builders

M = 30.4375


@pytest.fixture
def row(coordinator_a):
    patient = builders.build_casebook(coordinator_a)
    return load_casebook(patient).analysis_row()


def test_age_is_completed_years_at_the_2l_start(row):
    assert row["age_years"] == 63.0


def test_bmi_is_derived_from_height_and_weight(row):
    assert row["bmi"] == pytest.approx(65 / 1.7**2)


def test_first_line_pfs_is_start_to_progression(row):
    assert row["l1_pfs_months"] == pytest.approx(392 / M)


def test_dpr_comes_from_the_first_line_assessments(row):
    assert row["dpr_pct"] == pytest.approx(40.0)


def test_os_is_censored_at_the_last_alive_contact(row):
    assert (row["os_months"], row["os_event"]) == (pytest.approx(315 / M), 0)


def test_pfs_ends_at_the_2l_progression(row):
    # 2021-03-01 -> 2021-08-01 = 153 days
    assert (row["pfs_months"], row["pfs_event"]) == (pytest.approx(153 / M), 1)


def test_second_line_partners_are_flags(row):
    assert (row["l2_radiotherapy"], row["l2_antiangiogenic"]) == (0, 1)


def test_row_uses_the_pseudonymous_study_id_and_no_identifier(row):
    assert row["study_id"] == "AAA-0001"
    assert not {"mrn", "initials", "date_of_birth", "notes"} & set(row)


def test_os_ends_at_death_with_an_event(coordinator_a):
    patient = builders.register_patient(coordinator_a)
    save = services.crf_record_save
    for section, data in (
        ("baseline", builders.baseline()),
        ("first_line", builders.first_line()),
        ("second_line", builders.second_line()),
    ):
        save(user=coordinator_a, patient=patient, section=section, data=data)
    save(
        user=coordinator_a,
        patient=patient,
        section="follow_up",
        data=builders.follow_up(
            contact_date=date(2021, 9, 10),
            vital_status="dead",
            death_date=date(2021, 9, 1),
            death_cause="progression",
        ),
    )
    row = load_casebook(patient).analysis_row()
    # 2021-03-01 -> 2021-09-01 = 184 days = 6.045 months
    assert (row["os_months"], row["os_event"]) == (pytest.approx(184 / M), 1)


def test_adverse_event_rows_give_onset_in_days_from_the_2l_start(coordinator_a):
    patient = builders.build_casebook(coordinator_a)
    rows = load_casebook(patient).adverse_event_rows()
    assert rows == [
        {"study_id": "AAA-0001", "term": "Cough", "grade": 1, "immune_related": 0, "onset_day": 20}
    ]


def test_casebook_without_second_line_has_no_analysis_row(coordinator_a):
    patient = builders.register_patient(coordinator_a)
    assert load_casebook(patient).analysis_row() is None
