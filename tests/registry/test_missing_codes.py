"""Missing-data codes: a codable field takes "not done", "unknown" or "not applicable" with a
comment instead of its value; the adverse-event part needs an explicit "none occurred"."""

from __future__ import annotations

from datetime import date

import pytest

from core.errors import ApplicationError
from registry import services
from registry.casebook import load_casebook
from registry.models import Baseline, SectionCompletion
from registry.presenters import history_rows
from registry.selectors import patient_history
from tests import builders
from tests.api_support import assert_error, jsonable
from tests.builders import build_casebook, lock_casebook, register_patient
from tests.factories import TEST_PASSWORD

UNKNOWN_HEIGHT = {"height_cm": {"code": "unknown", "comment": "not measured at admission"}}


def _baseline_with(user, patient, **data):
    return services.crf_record_save(
        user=user, patient=patient, section="baseline", data=builders.baseline(**data)
    )


def _error_fields(call) -> dict:
    with pytest.raises(ApplicationError) as caught:
        call()
    return caught.value.fields


# -- the service ----------------------------------------------------------------------------


def test_a_coded_field_is_saved_empty_with_its_code_and_comment(coordinator_a):
    patient = register_patient(coordinator_a)
    record = _baseline_with(coordinator_a, patient, height_cm=None, missing_codes=UNKNOWN_HEIGHT)
    stored = Baseline.objects.get(pk=record.pk)
    assert stored.height_cm is None
    assert stored.missing_codes == UNKNOWN_HEIGHT


def test_an_empty_required_field_without_a_code_is_refused_naming_the_rule(coordinator_a):
    patient = register_patient(coordinator_a)
    fields = _error_fields(lambda: _baseline_with(coordinator_a, patient, height_cm=None))
    assert "give a value, or mark it not done, unknown or not applicable" in fields["height_cm"][0]
    assert not Baseline.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"code": "unknown", "comment": "  "}, "Give a comment with the missing-data code."),
        ({"code": "lost", "comment": "x"}, "must be one of not_done, unknown, not_applicable"),
        ({"code": "unknown"}, "Give a comment with the missing-data code."),
        ("unknown", "A missing-data code is {code, comment}."),
    ],
)
def test_a_malformed_code_is_refused_on_its_field(coordinator_a, entry, message):
    patient = register_patient(coordinator_a)
    fields = _error_fields(
        lambda: _baseline_with(
            coordinator_a, patient, height_cm=None, missing_codes={"height_cm": entry}
        )
    )
    assert message in fields["height_cm"][0]
    assert not Baseline.objects.filter(patient=patient).exists()


def test_a_value_and_a_code_together_are_refused(coordinator_a):
    patient = register_patient(coordinator_a)
    fields = _error_fields(
        lambda: _baseline_with(coordinator_a, patient, missing_codes=UNKNOWN_HEIGHT)
    )
    assert fields["height_cm"] == ["Give either a value or a missing-data code, not both."]


def test_codes_that_are_not_an_object_are_refused(coordinator_a):
    patient = register_patient(coordinator_a)
    fields = _error_fields(
        lambda: _baseline_with(coordinator_a, patient, height_cm=None, missing_codes=["height_cm"])
    )
    assert fields["missing_codes"] == ["Must be an object: field name → {code, comment}."]
    assert not Baseline.objects.filter(patient=patient).exists()


def test_a_field_that_cannot_be_coded_is_refused(coordinator_a):
    patient = register_patient(coordinator_a)
    codes = {"diagnosis_date": {"code": "unknown", "comment": "x"}}
    fields = _error_fields(lambda: _baseline_with(coordinator_a, patient, missing_codes=codes))
    assert "diagnosis_date cannot carry a missing-data code" in fields["missing_codes"][0]


def test_a_conditionally_required_field_is_satisfied_by_a_code(coordinator_a):
    patient = register_patient(coordinator_a)
    codes = {"pack_years": {"code": "unknown", "comment": "smoked, amount never recorded"}}
    with pytest.raises(ApplicationError):
        _baseline_with(coordinator_a, patient, smoking="current", pack_years=None)
    record = _baseline_with(
        coordinator_a, patient, smoking="current", pack_years=None, missing_codes=codes
    )
    assert record.missing_codes == codes


def test_entering_the_value_later_removes_the_code_and_both_steps_are_in_the_history(
    coordinator_a,
):
    patient = register_patient(coordinator_a)
    record = _baseline_with(coordinator_a, patient, height_cm=None, missing_codes=UNKNOWN_HEIGHT)
    services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="baseline",
        data={"height_cm": 171},
        expected_version=record.version,
    )
    record.refresh_from_db()
    assert (record.height_cm, record.missing_codes) == (171, {})
    rows = history_rows(patient_history(patient, identifiers=True))
    texts = [" ".join(" ".join(map(str, change)) for change in row.changes) for row in rows]
    assert any("Unknown: not measured at admission" in text for text in texts)
    change = next(row for row in rows if any("171" in str(ch) for ch in row.changes))
    assert ("Missing-data codes", "Height (cm): Unknown: not measured at admission", "—") in (
        change.changes
    )


def test_a_locked_casebook_keeps_its_codes(coordinator_a, investigator_a):
    patient = build_casebook(coordinator_a, complete=True)
    lock_casebook(patient, investigator_a, TEST_PASSWORD)
    record = Baseline.objects.get(patient=patient)
    with pytest.raises(ApplicationError) as caught:
        services.crf_record_save(
            user=coordinator_a,
            patient=patient,
            section="baseline",
            data={"ecog": None, "missing_codes": {"ecog": {"code": "unknown", "comment": "x"}}},
            expected_version=record.version,
            reason="r",
        )
    assert caught.value.code == "locked"
    record.refresh_from_db()
    assert (record.ecog, record.missing_codes) == (1, {})


# -- what the analysis sees -----------------------------------------------------------------


def test_coded_values_reach_the_analysis_row_as_missing(coordinator_a):
    patient = build_casebook(coordinator_a)
    record = Baseline.objects.get(patient=patient)
    services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="baseline",
        data={
            "weight_kg": None,
            "smoking": "",
            "pack_years": None,
            "missing_codes": {
                "weight_kg": {"code": "not_done", "comment": "bed-bound, not weighed"},
                "smoking": {"code": "unknown", "comment": "history not taken"},
            },
        },
        expected_version=record.version,
    )
    second = patient.second_line
    services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="second_line",
        data={
            "radiotherapy_site": "",
            "missing_codes": {"radiotherapy_site": {"code": "unknown", "comment": "records lost"}},
        },
        expected_version=second.version,
    )
    row = load_casebook(patient).analysis_row()
    assert (row["bmi"], row["smoking"], row["l2_radiotherapy"]) == (None, None, None)
    assert row["ecog"] == 1  # the rest of the row is untouched
    entered_agent = builders.second_line()["antiangiogenic_agent"]
    assert row["l2_antiangiogenic"] == int(entered_agent != "none")


def test_an_unmeasured_baseline_target_sum_leaves_the_depth_of_response_unknown(coordinator_a):
    patient = build_casebook(coordinator_a)
    first = patient.assessments.order_by("assessment_date").first()
    assert load_casebook(patient).depth_of_response_pct() == pytest.approx(40.0)
    services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="assessments",
        record_id=first.pk,
        data={
            "target_sum_mm": None,
            "missing_codes": {"target_sum_mm": {"code": "not_done", "comment": "CT lost"}},
        },
        expected_version=first.version,
    )
    assert load_casebook(patient).depth_of_response_pct() is None


def test_an_unmeasured_later_target_sum_is_left_out_of_the_depth_of_response(coordinator_a):
    patient = build_casebook(coordinator_a)
    save = services.crf_record_save
    save(
        user=coordinator_a,
        patient=patient,
        section="assessments",
        data=builders.assessment(
            assessment_date=date(2020, 4, 15),
            target_sum_mm=None,
            overall_response="PR",
            missing_codes={"target_sum_mm": {"code": "not_done", "comment": "scan not read"}},
        ),
    )
    assert load_casebook(patient).depth_of_response_pct() == pytest.approx(40.0)


# -- "no adverse events occurred" -----------------------------------------------------------


def test_the_adverse_event_part_is_not_complete_empty_without_a_confirmation(coordinator_a):
    patient = build_casebook(coordinator_a, with_ae=False)
    with pytest.raises(ApplicationError) as caught:
        services.section_mark_complete(
            user=coordinator_a, patient=patient, section="adverse_events"
        )
    assert "confirm that no adverse events occurred" in str(caught.value)
    services.adverse_events_none_confirm(user=coordinator_a, patient=patient)
    services.section_mark_complete(user=coordinator_a, patient=patient, section="adverse_events")
    assert SectionCompletion.objects.filter(patient=patient, section="adverse_events").exists()


def test_none_occurred_is_refused_while_adverse_events_are_recorded(coordinator_a):
    patient = build_casebook(coordinator_a)
    fields = _error_fields(
        lambda: services.adverse_events_none_confirm(user=coordinator_a, patient=patient)
    )
    assert "Adverse events are recorded" in fields["no_adverse_events"][0]
    patient.refresh_from_db()
    assert patient.no_adverse_events is False


def test_recording_an_adverse_event_withdraws_none_occurred_in_the_history(coordinator_a):
    patient = build_casebook(coordinator_a, with_ae=False)
    services.adverse_events_none_confirm(user=coordinator_a, patient=patient)
    services.crf_record_save(
        user=coordinator_a,
        patient=patient,
        section="adverse_events",
        data=builders.adverse_event(),
    )
    patient.refresh_from_db()
    assert patient.no_adverse_events is False
    reasons = list(patient.history.values_list("no_adverse_events", "history_change_reason"))
    assert (True, None) in reasons
    assert (False, "an adverse event was recorded") in reasons


def test_only_crf_editors_confirm_none_occurred(pi_user, coordinator_a):
    patient = build_casebook(coordinator_a, with_ae=False)
    with pytest.raises(ApplicationError) as caught:
        services.adverse_events_none_confirm(user=pi_user, patient=patient)
    assert caught.value.code == "forbidden"


# -- pages ----------------------------------------------------------------------------------


def test_the_baseline_form_takes_a_code_and_the_casebook_shows_it(client, coordinator_a):
    patient = register_patient(coordinator_a)
    client.force_login(coordinator_a)
    form = {k: v for k, v in jsonable(builders.baseline()).items() if v is not None}
    form.update(
        {
            "height_cm": "",
            "height_cm__missing": "not_done",
            "height_cm__missing_comment": "patient could not stand",
        }
    )
    form = {k: str(v) if isinstance(v, bool) else v for k, v in form.items()}
    url = f"/patients/{patient.study_id}/baseline/"
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Baseline.objects.get(patient=patient).missing_codes == {
        "height_cm": {"code": "not_done", "comment": "patient could not stand"}
    }
    page = client.get(f"/patients/{patient.study_id}/").content.decode()
    assert "Not done: patient could not stand" in page
    edit = client.get(url).content.decode()
    assert '<option value="not_done" selected>' in edit


def test_the_form_names_the_field_when_neither_value_nor_code_is_given(client, coordinator_a):
    patient = register_patient(coordinator_a)
    client.force_login(coordinator_a)
    form = {k: v for k, v in jsonable(builders.baseline()).items() if v is not None}
    form = {k: str(v) if isinstance(v, bool) else v for k, v in form.items()}
    form["ecog"] = ""
    response = client.post(f"/patients/{patient.study_id}/baseline/", form)
    assert response.status_code == 200
    assert response.context["form"].errors["ecog"] == [
        "This field is required: give a value, or mark it not done, unknown or not applicable "
        "with a comment."
    ]
    assert not Baseline.objects.filter(patient=patient).exists()


def test_the_casebook_page_confirms_none_occurred(client, coordinator_a, coordinator_b):
    patient = build_casebook(coordinator_a, with_ae=False)
    url = f"/patients/{patient.study_id}/adverse-events/none/"
    client.force_login(coordinator_b)
    assert client.post(url, {"confirmed": "1"}).status_code == 404
    client.force_login(coordinator_a)
    page = client.get(f"/patients/{patient.study_id}/").content.decode()
    assert "Confirm: no adverse events occurred" in page
    assert client.post(url, {"confirmed": "1"}).status_code == 302
    patient.refresh_from_db()
    assert patient.no_adverse_events is True
    page = client.get(f"/patients/{patient.study_id}/").content.decode()
    assert "No adverse events occurred" in page


# -- API ------------------------------------------------------------------------------------


def test_the_api_sets_and_shows_a_code(api_a, coordinator_a):
    patient = register_patient(coordinator_a)
    body = jsonable(builders.baseline(ecog=None))
    body["missing_codes"] = {"ecog": {"code": "unknown", "comment": "not documented"}}
    url = f"/api/v1/patients/{patient.study_id}/baseline/"
    assert api_a.post(url, body, format="json").status_code == 201
    shown = api_a.get(url).json()
    assert (shown["ecog"], shown["missing_codes"]) == (None, body["missing_codes"])


def test_the_api_names_the_field_of_a_bad_code(api_a, coordinator_a):
    patient = register_patient(coordinator_a)
    body = jsonable(builders.baseline(ecog=None))
    body["missing_codes"] = {"ecog": {"code": "maybe", "comment": "x"}}
    response = api_a.post(f"/api/v1/patients/{patient.study_id}/baseline/", body, format="json")
    error = assert_error(response, 400, "invalid", field="ecog")
    assert "must be one of not_done, unknown, not_applicable" in error["fields"]["ecog"][0]
    assert not Baseline.objects.filter(patient=patient).exists()


def test_the_api_confirms_none_occurred_in_scope(api_a, api_b, coordinator_a):
    patient = build_casebook(coordinator_a, with_ae=False)
    url = f"/api/v1/patients/{patient.study_id}/adverse-events/none/"
    assert_error(api_b.post(url, {"confirmed": True}, format="json"), 404, "not_found")
    response = api_a.post(url, {"confirmed": True}, format="json")
    assert response.status_code == 200
    assert response.json()["no_adverse_events"] is True
    assert_error(api_a.post(url, {"confirmed": "yes"}, format="json"), 400, "invalid", "confirmed")
