"""The demo cohort as designed (fixtures/demo_cohort.py), without a database: it matches
seed-cohort.md's Table 1, Table 3, event counts and reported medians."""

import csv
from pathlib import Path

import pytest

import fixtures
from fixtures.demo_cohort import build_demo_study, demo_analysis_rows, demo_casebooks
from registry import rules
from tests.registry import cohort_tables as t

M = 30.4375


@pytest.fixture(scope="module")
def rows():
    return demo_analysis_rows()


def test_demo_study_is_rebuilt_identically_from_its_seed():
    assert build_demo_study() == build_demo_study()


def test_demo_has_28_patients_over_6_centres():
    study = build_demo_study()
    assert len(study["patients"]) == 28
    assert {p["center"] for p in study["patients"]} == {c["code"] for c in study["centres"]}
    assert len(study["centres"]) == 6


def test_table_1_counts_match_the_reference(rows):
    patients, _ = rows
    assert t.table1_counts(patients) == t.TABLE_1


def test_age_median_and_iqr_match_the_reference(rows):
    # SPSS quartiles of whole years: Q1 = 55 + 0.25 * (56 - 55) = 55.25, printed 55.3
    assert t.age_quartiles(rows[0]) == [65.0, 55.25, 69.0]


def test_dpr_median_is_29_percent_with_three_patients_on_it(rows):
    dprs = sorted(r["dpr_pct"] for r in rows[0])
    assert dprs[13] == dprs[14] == pytest.approx(29.0)
    assert sum(1 for d in dprs if d == dprs[13]) == 3


def test_deaths_and_second_line_progressions_match_the_reference():
    books = demo_casebooks()
    assert sum(1 for b in books if b.death_date is not None) == 15
    assert sum(1 for b in books if b.second_line.progression_date is not None) == 16


@pytest.mark.parametrize(
    ("group", "endpoint", "days"),
    [
        ("all", "os", 574),  # 18.86 months (reported 18.87)
        ("all", "pfs", 124),  # 4.07
        ("LTR", "os", 608),  # 19.98
        ("STR", "os", 264),  # 8.67 (reported 8.68 and 8.67)
        ("DpR >= median", "os", 665),  # 21.85 (reported 21.84)
        ("DpR < median", "os", 445),  # 14.62 (reported 14.63)
    ],
)
def test_kaplan_meier_medians_are_close_to_the_reported(rows, group, endpoint, days):
    patients = rows[0]
    dpr_median = sorted(r["dpr_pct"] for r in patients)[13]
    members = {
        "all": patients,
        "LTR": [r for r in patients if r["l1_pfs_months"] >= 6],
        "STR": [r for r in patients if r["l1_pfs_months"] < 6],
        "DpR >= median": [r for r in patients if r["dpr_pct"] >= dpr_median],
        "DpR < median": [r for r in patients if r["dpr_pct"] < dpr_median],
    }[group]
    times = [r[f"{endpoint}_months"] for r in members]
    events = [r[f"{endpoint}_event"] for r in members]
    assert t.km_median(times, events) == pytest.approx(days / M)


def test_reverse_km_median_follow_up_is_22_8_months(rows):
    patients = rows[0]
    times = [r["os_months"] for r in patients]
    censored = [1 - r["os_event"] for r in patients]
    assert t.km_median(times, censored) == pytest.approx(694 / M)  # 22.80


def test_adverse_events_per_term_match_table_3(rows):
    any_grade, _ = t.ae_counts(rows[1])
    assert dict(any_grade) == t.TABLE_3_ANY


def test_grade_3_events_per_term_match_table_3(rows):
    _, grade_3 = t.ae_counts(rows[1])
    assert dict(grade_3) == t.TABLE_3_GRADE_3


def test_every_patient_had_an_adverse_event_and_four_had_grade_3(rows):
    worst = t.worst_grades(rows[1])
    assert len({sid for sid, _term in worst}) == 28
    assert len({sid for (sid, _term), grade in worst.items() if grade >= 3}) == 4
    assert max(worst.values()) == 3  # no grade 4 or 5


def test_immune_related_events_six_patients_one_at_grade_3(rows):
    immune = [r for r in rows[1] if r["immune_related"]]
    assert len({r["study_id"] for r in immune}) == 6
    assert len({r["study_id"] for r in immune if r["grade"] >= 3}) == 1


def test_every_demo_casebook_passes_record_and_cross_part_validation():
    for book in demo_casebooks():
        records = [book.patient, book.baseline, book.first_line, book.second_line]
        records += [*book.assessments, *book.adverse_events, *book.follow_ups]
        for record in records:
            record.full_clean(
                exclude=["patient", "center"], validate_unique=False, validate_constraints=False
            )
        assert rules.casebook_violations(book) == []


@pytest.mark.parametrize(
    ("name", "which"), [("demo_patients.csv", 0), ("demo_adverse_events.csv", 1)]
)
def test_committed_csv_files_are_what_the_generator_builds(rows, name, which):
    # Rebuild with `python -m fixtures.demo_cohort` after changing the generator.
    path = Path(fixtures.__file__).parent / name
    with path.open(newline="") as handle:
        stored = list(csv.DictReader(handle))
    expected = [{k: "" if v is None else str(v) for k, v in r.items()} for r in rows[which]]
    assert stored == expected
