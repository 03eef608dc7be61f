"""Missing-data codes in an export: a code column after each codable field, described in the
data dictionary (REDCap and SPSS carry it as a coded variable), blank in the analysis table."""

from registry import services
from registry.models import Baseline
from tests.builders import build_casebook, lock_casebook
from tests.exchange.helpers import open_zip, rows, run_export
from tests.factories import TEST_PASSWORD

CODES = {"weight_kg": {"code": "not_done", "comment": "Bed-bound; nurse Xanthippe forgot"}}


def _coded_locked_casebook(coordinator, investigator):
    patient = build_casebook(coordinator)
    record = Baseline.objects.get(patient=patient)
    services.crf_record_save(
        user=coordinator,
        patient=patient,
        section="baseline",
        data={"weight_kg": None, "missing_codes": CODES},
        expected_version=record.version,
    )
    services.casebook_mark_complete(user=coordinator, patient=patient)
    lock_casebook(patient, investigator, TEST_PASSWORD)
    return patient


def test_the_code_is_exported_beside_the_empty_value_and_the_comment_is_not(
    coordinator_a, investigator_a, pi_user
):
    _coded_locked_casebook(coordinator_a, investigator_a)
    zf = open_zip(run_export(pi_user))
    (baseline,) = rows(zf, "tables/baseline.csv")
    assert (baseline["weight_kg"], baseline["weight_kg_missing"]) == ("", "not_done")
    assert (baseline["height_cm"], baseline["height_cm_missing"]) == ("170.0", "")
    everything = b"".join(zf.read(name) for name in zf.namelist())
    assert b"Xanthippe" not in everything


def test_the_dictionary_lists_the_codes(coordinator_a, investigator_a, pi_user):
    _coded_locked_casebook(coordinator_a, investigator_a)
    entries = {
        (r["table"], r["column"]): r
        for r in rows(open_zip(run_export(pi_user)), "data_dictionary.csv")
    }
    entry = entries[("tables/baseline", "weight_kg_missing")]
    assert entry["allowed_values"] == (
        "not_done=Not done; unknown=Unknown; not_applicable=Not applicable"
    )
    assert ("tables/baseline", "diagnosis_date_missing") not in entries  # not codable


def test_the_analysis_table_has_the_coded_value_as_missing(coordinator_a, investigator_a, pi_user):
    patient = _coded_locked_casebook(coordinator_a, investigator_a)
    zf = open_zip(run_export(pi_user))
    (row,) = rows(zf, "analysis/patients.csv")
    assert row["bmi"] == ""
    assert row["study_id"] != patient.study_id  # pseudonymised, as every export
