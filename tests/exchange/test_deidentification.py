"""De-identification: no identifier reaches a file; dates, ages, pseudonyms, risk."""

import json
import re
from collections import Counter
from datetime import date

from exchange import deid, services
from registry.models import Patient
from tests.exchange.helpers import open_zip, rows, run_export
from tests.exchange.scanner import (
    ISO_DATE,
    SLASH_DATE,
    date_spellings,
    patient_dates,
    readable_texts,
)

ALL_FORMATS = ["csv", "xlsx", "sav", "redcap"]


def _identifier_hits(texts, people) -> list[str]:
    hits = []
    for person in people:
        needles = [
            person.mrn,
            person.notes,
            "Quackenbush",
            "555-01",
            person.mets_other,
            person.ae_other,
            "Zebulon",
            "Xanthippe",
            person.patient.study_id,
        ]
        for name, text in texts.items():
            hits += [f"{needle!r} in {name}" for needle in needles if needle in text]
            # Initials are short: match whole tokens only (pseudonyms are letters too).
            if re.search(rf"(?<![A-Za-z0-9]){person.initials}(?![A-Za-z0-9])", text):
                hits.append(f"initials {person.initials!r} in {name}")
    return hits


def test_deidentified_export_holds_no_identifier_in_any_file_or_format(seeded, pi_user, tmp_path):
    people = [*seeded["locked"], seeded["unlocked"]]
    job = run_export(pi_user, formats=ALL_FORMATS, locked_only=False)
    texts = readable_texts(open_zip(job), tmp_path)
    assert _identifier_hits(texts, people) == []


def test_deidentified_export_holds_no_patient_date_in_any_spelling(seeded, pi_user, tmp_path):
    people = [*seeded["locked"], seeded["unlocked"]]
    job = run_export(pi_user, formats=ALL_FORMATS, locked_only=False)
    texts = readable_texts(open_zip(job), tmp_path)
    dates = patient_dates([p.patient for p in people])
    assert len(dates) > 20  # the scan covers the casebooks' many dates, not a handful
    hits = [
        f"{spelling} in {name}"
        for d in dates
        for spelling in date_spellings(d)
        for name, text in texts.items()
        if spelling in text
    ]
    assert hits == []


def test_only_the_export_timestamp_is_a_calendar_date_in_the_zip(seeded, pi_user, tmp_path):
    job = run_export(pi_user, formats=ALL_FORMATS)
    export_day = job.created_at.date().isoformat()
    texts = readable_texts(open_zip(job), tmp_path)
    found = {
        (name, match)
        for name, text in texts.items()
        for pattern in (ISO_DATE, SLASH_DATE)
        for match in pattern.findall(text)
        if match != export_day
    }
    assert found == set()


def test_identified_export_does_contain_the_identifiers_the_scanner_looks_for(
    seeded, export_admin, tmp_path
):
    # The scanner's counter-check: the same search finds identifiers when they are there.
    job = run_export(export_admin, formats=ALL_FORMATS, identified=True, reason="Audit visit")
    texts = readable_texts(open_zip(job), tmp_path)
    assert len(_identifier_hits(texts, seeded["locked"])) > 0


def test_identifier_and_free_text_columns_are_absent_from_tidy_tables(seeded, pi_user):
    zf = open_zip(run_export(pi_user))
    headers = {n: set(rows(zf, n)[0]) for n in zf.namelist() if n.startswith("tables/")}
    dropped = {
        "mrn",
        "initials",
        "date_of_birth",
        "notes",
        "mets_other_specify",
        "term_other_specify",
    }
    assert {n: h & dropped for n, h in headers.items() if h & dropped} == {}


def _by_real_id(job, zf, name):
    key = bytes.fromhex(job.pseudonym_key.key)
    back = {deid.pseudonym(key, p.study_id): p.study_id for p in Patient.objects.all()}
    return {back[r["study_id"]]: r for r in rows(zf, name)}


def test_relative_dates_are_exact_days_from_the_second_line_start(seeded, pi_user):
    job = run_export(pi_user)
    second = seeded["locked"][1].patient  # 2L start 2021-05-10, registered 2021-03-02
    registration = _by_real_id(job, open_zip(job), "tables/registration.csv")[second.study_id]
    second_line = _by_real_id(job, open_zip(job), "tables/second_line.csv")[second.study_id]
    assert registration["registration_day"] == str((date(2021, 3, 2) - date(2021, 5, 10)).days)
    assert registration["registration_day"] == "-69"
    assert second_line["start_day"] == "0"


def _offsets(job):
    regs = _by_real_id(job, open_zip(job), "tables/registration.csv")
    real = dict(Patient.objects.values_list("study_id", "registration_date"))
    return {
        sid: (real[sid] - date.fromisoformat(r["registration_date"])).days
        for sid, r in regs.items()
    }


def test_shifted_dates_move_each_patient_by_the_same_offset_in_two_exports(seeded, pi_user):
    first = _offsets(run_export(pi_user, date_mode="shifted"))
    second = _offsets(run_export(pi_user, date_mode="shifted"))
    assert first == second
    assert len(first) == 6


def test_shifted_offsets_lie_between_1_and_364_days(seeded, pi_user):
    offsets = _offsets(run_export(pi_user, date_mode="shifted"))
    assert all(1 <= days <= 364 for days in offsets.values())


def test_shift_offsets_over_many_ids_cover_the_range_and_stay_within_it():
    offsets = [deid.shift_days(f"AAA-{n:04d}", b"k") for n in range(5000)]
    assert min(offsets) == 1
    assert max(offsets) == 364


def test_shifted_dates_keep_intervals_within_a_patient(seeded, pi_user):
    job = run_export(pi_user, date_mode="shifted")
    zf = open_zip(job)
    regs = _by_real_id(job, zf, "tables/registration.csv")
    lines = _by_real_id(job, zf, "tables/second_line.csv")
    sid = seeded["locked"][1].patient.study_id
    gap = date.fromisoformat(lines[sid]["start_date"]) - date.fromisoformat(
        regs[sid]["registration_date"]
    )
    assert gap.days == (date(2021, 5, 10) - date(2021, 3, 2)).days


def test_ages_over_89_are_exported_as_90_plus(seeded, pi_user):
    job = run_export(pi_user)
    old = seeded["locked"][2].patient  # born 1927-09-30: 93 at registration
    zf = open_zip(job)
    assert _by_real_id(job, zf, "tables/registration.csv")[old.study_id]["age_years"] == "90+"
    assert _by_real_id(job, zf, "analysis/patients.csv")[old.study_id]["age_years"] == "90.0"


def test_ages_of_89_and_below_are_kept(seeded, pi_user):
    job = run_export(pi_user)
    first = seeded["locked"][0].patient  # born 1957-06-15, registered 2021-03-02: 63
    regs = _by_real_id(job, open_zip(job), "tables/registration.csv")
    assert regs[first.study_id]["age_years"] == "63"


def _ids(job):
    return {r["study_id"] for r in rows(open_zip(job), "tables/registration.csv")}


def test_pseudonyms_differ_between_two_recipients_and_cannot_be_joined(seeded, pi_user):
    to_a = _ids(run_export(pi_user, recipient="University A"))
    to_b = _ids(run_export(pi_user, recipient="University B"))
    assert len(to_a) == len(to_b) == 6
    assert to_a & to_b == set()


def test_pseudonyms_are_stable_for_one_recipient(seeded, pi_user):
    assert _ids(run_export(pi_user, recipient="University A")) == _ids(
        run_export(pi_user, recipient="University A")
    )


def test_pseudonyms_differ_between_two_exports_without_a_recipient(seeded, pi_user):
    assert _ids(run_export(pi_user)) & _ids(run_export(pi_user)) == set()


def test_admin_can_map_pseudonyms_back_to_study_ids(seeded, pi_user, admin_user):
    job = run_export(pi_user)
    mapping = dict(services.pseudonym_mapping(user=admin_user, job_id=job.pk))
    exported = _ids(job)
    assert {mapping[p] for p in exported} == {s.patient.study_id for s in seeded["locked"]}


def test_k_anonymity_warning_when_smallest_group_is_below_5(seeded, pi_user):
    job = run_export(pi_user)
    manifest = json.loads(open_zip(job).read("manifest.json"))
    assert manifest["reidentification_risk"]["k"] == 1
    assert "k < 5" in manifest["reidentification_risk"]["warning"]
    assert job.risk["k"] == 1


def test_no_k_warning_when_every_group_has_at_least_5():
    summary = deid.risk_summary(Counter({("60-69", "M", "AAA"): 5, ("70-79", "F", "AAA"): 7}))
    assert summary["k"] == 5
    assert summary["warning"] == ""


def test_coarsened_centres_are_relabelled_centre_a_and_b(seeded, pi_user):
    zf = open_zip(run_export(pi_user, coarsen_centers=True, formats=["csv", "redcap"]))
    centres = {r["center"] for r in rows(zf, "tables/registration.csv")}
    assert centres == {"centre A", "centre B"}
    assert "AAA" not in zf.read("analysis/patients.csv").decode()
    assert {r["redcap_data_access_group"] for r in rows(zf, "redcap/records.csv")} == {
        "centre_a",
        "centre_b",
    }
