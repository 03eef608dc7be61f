"""Derived values, each from numbers a reader can check by hand (months = days / 30.4375)."""

from datetime import date
from decimal import Decimal

import pytest

from registry import derived
from registry.derived import Measurement


def test_months_between_counts_days_over_30_4375():
    # 2021-03-01 -> 2021-09-01 is 184 days; 184 / 30.4375 = 6.0452...
    assert derived.months_between(date(2021, 3, 1), date(2021, 9, 1)) == pytest.approx(
        6.04517, abs=1e-5
    )


def test_months_between_a_year_is_twelve_months_on_average():
    assert derived.months_between(date(2021, 1, 1), date(2022, 1, 1)) == pytest.approx(
        365 / 30.4375
    )


def test_age_is_completed_years_the_day_before_the_birthday():
    assert derived.age_in_years(date(1957, 6, 15), date(2021, 6, 14)) == 63


def test_age_counts_the_birthday_itself():
    assert derived.age_in_years(date(1957, 6, 15), date(2021, 6, 15)) == 64


def test_bmi_is_weight_over_height_squared():
    # 65 kg / (1.70 m)^2 = 22.49
    assert derived.bmi(Decimal("170"), Decimal("65")) == pytest.approx(22.4913, abs=1e-4)


@pytest.mark.parametrize(
    ("value", "category"),
    [(18.49, "underweight"), (18.5, "normal"), (23.99, "normal"), (24.0, "overweight")],
)
def test_bmi_category_cut_offs_are_18_5_and_24(value, category):
    assert derived.bmi_category(value) == category


def test_first_line_pfs_months_from_start_to_progression():
    # 2020-01-20 -> 2021-02-15 = 392 days = 12.879 months
    months = derived.first_line_pfs_months(date(2020, 1, 20), date(2021, 2, 15))
    assert months == pytest.approx(392 / 30.4375)


def test_six_months_of_first_line_pfs_is_long_term_response():
    assert derived.is_long_term_responder(6.0) is True
    assert derived.is_long_term_responder(5.99) is False


def test_depth_of_response_is_largest_shrinkage_from_the_first_assessment():
    scans = [
        Measurement(date(2020, 1, 1), 100),
        Measurement(date(2020, 2, 15), 80),
        Measurement(date(2020, 4, 1), 60),
        Measurement(date(2020, 6, 1), 120),
    ]
    assert derived.depth_of_response_pct(scans) == pytest.approx(40.0)


def test_depth_of_response_orders_assessments_by_date():
    scans = [Measurement(date(2020, 4, 1), 60), Measurement(date(2020, 1, 1), 100)]
    assert derived.depth_of_response_pct(scans) == pytest.approx(40.0)


def test_depth_of_response_is_negative_when_the_tumour_only_grew():
    scans = [Measurement(date(2020, 1, 1), 100), Measurement(date(2020, 3, 1), 110)]
    assert derived.depth_of_response_pct(scans) == pytest.approx(-10.0)


def test_depth_of_response_needs_a_baseline_and_a_later_assessment():
    assert derived.depth_of_response_pct([Measurement(date(2020, 1, 1), 100)]) is None


def test_depth_of_response_is_undefined_for_a_zero_baseline_sum():
    scans = [Measurement(date(2020, 1, 1), 0), Measurement(date(2020, 3, 1), 0)]
    assert derived.depth_of_response_pct(scans) is None


def test_complete_disappearance_is_100_percent_response():
    scans = [Measurement(date(2020, 1, 1), 100), Measurement(date(2020, 3, 1), 0)]
    assert derived.depth_of_response_pct(scans) == 100.0


def test_overall_survival_ends_at_death_with_an_event():
    os_time = derived.overall_survival(date(2021, 3, 1), date(2021, 9, 1), date(2021, 8, 1))
    assert (os_time.months, os_time.event, os_time.end_date) == (
        pytest.approx(184 / 30.4375),
        1,
        date(2021, 9, 1),
    )


def test_overall_survival_is_censored_at_last_known_alive():
    os_time = derived.overall_survival(date(2021, 3, 1), None, date(2022, 1, 10))
    # 2021-03-01 -> 2022-01-10 = 315 days
    assert (os_time.months, os_time.event) == (pytest.approx(315 / 30.4375), 0)


def test_pfs_ends_at_progression_when_it_comes_before_death():
    pfs = derived.progression_free_survival(
        date(2021, 3, 1), date(2021, 5, 1), date(2021, 9, 1), date(2021, 4, 20)
    )
    assert (pfs.months, pfs.event) == (pytest.approx(61 / 30.4375), 1)


def test_pfs_ends_at_death_without_progression():
    pfs = derived.progression_free_survival(date(2021, 3, 1), None, date(2021, 9, 1), None)
    assert (pfs.months, pfs.event) == (pytest.approx(184 / 30.4375), 1)


def test_pfs_is_censored_at_the_last_assessment():
    pfs = derived.progression_free_survival(date(2021, 3, 1), None, None, date(2021, 6, 1))
    assert (pfs.months, pfs.event) == (pytest.approx(92 / 30.4375), 0)


def test_pfs_without_any_assessment_is_censored_at_the_index_date():
    pfs = derived.progression_free_survival(date(2021, 3, 1), None, None, None)
    assert (pfs.months, pfs.event) == (0.0, 0)


def test_last_known_alive_is_the_latest_date_ignoring_blanks():
    dates = [date(2021, 3, 1), None, date(2022, 1, 10), date(2021, 8, 1)]
    assert derived.last_known_alive(dates) == date(2022, 1, 10)


def test_last_known_alive_without_dates_is_none():
    assert derived.last_known_alive([None, None]) is None
