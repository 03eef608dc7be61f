"""Data-quality rules (quality.rules) and their service (quality.checks.rules_run).

Each rule is tried on a casebook built through the services (tests.builders: registered
2021-03-02, born 1957-06-15, 170 cm / 65 kg (BMI 22.5), diagnosis 2020-01-10, 1L
2020-01-20 → progression 2021-02-15 (4 cycles), 2L 2021-03-01 → progression and end
2021-08-01 (6 cycles), 1L assessments 2020-01-15 and 2020-03-15, a grade 1 cough from
2021-03-21, one follow-up 2022-01-10 alive) then altered directly in the tables, as an
import or an older version could have left it (the services refuse most of these values).
A second, untouched casebook must never be hit.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings

from quality import services
from quality.checks import CLOSE_TEXT, rules_run
from quality.models import Query, QueryMessage
from quality.rules import RULES, RULES_BY_CODE
from quality.selectors import lock_blockers
from registry.models import (
    AdverseEvent,
    AuditEvent,
    Baseline,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    TumourAssessment,
)
from tests.builders import build_casebook, register_patient

pytestmark = pytest.mark.django_db


def hits(code: str) -> set:
    return set(RULES_BY_CODE[code].hits(Patient.objects.all()))


def _ae(p):
    return AdverseEvent.objects.get(patient=p)


def _fu(p):
    return FollowUp.objects.get(patient=p)


def _died(p, on: date, cause: str = "progression", contact: date | None = None) -> FollowUp:
    return FollowUp.objects.create(
        patient=p,
        contact_date=contact or on,
        vital_status="dead",
        death_date=on,
        death_cause=cause,
        progression_status="progressed",
    )


def _assessment(p, on: date, line: str = "2L") -> TumourAssessment:
    return TumourAssessment.objects.create(
        patient=p,
        assessment_date=on,
        line=line,
        target_sum_mm=50,
        new_lesions=False,
        overall_response="SD",
    )


def _move_first_1l_assessment(p, to: date) -> int:
    first = TumourAssessment.objects.filter(patient=p).order_by("assessment_date").first()
    TumourAssessment.objects.filter(pk=first.pk).update(assessment_date=to)
    return first.pk


def _alive_contact_after_death(p, death: date) -> int:
    alive = _fu(p).pk  # 2022-01-10, alive
    _died(p, death)
    return alive


def update(model, p, **values) -> None:
    rows = model.objects.filter(pk=p.pk) if model is Patient else model.objects.filter(patient=p)
    rows.update(**values)


# code → (how to break the casebook, the hit it must give: None for the part, else a record)
BREAKS = {
    "bmi_low": lambda p: update(Baseline, p, weight_kg=43) or None,  # 43 / 1.7² = 14.9
    "bmi_high": lambda p: update(Baseline, p, weight_kg=116) or None,  # 40.1
    "age_over_90": lambda p: update(Patient, p, date_of_birth=date(1930, 3, 2)),
    # 2021-03-01 + 3653 days: more than 10 × 365.25 days.
    "os_over_10_years": lambda p: update(FollowUp, p, contact_date=date(2031, 3, 2)),
    "cycles_1l_over_30": lambda p: update(FirstLineTherapy, p, cycles=31),
    "cycles_2l_over_30": lambda p: update(SecondLineTherapy, p, cycles=31),
    "ae_grade5_without_death": lambda p: (
        update(AdverseEvent, p, grade=5, outcome="fatal") or _ae(p).pk
    ),
    "death_cause_ae_without_grade5": lambda p: _died(p, date(2022, 1, 5), "adverse_event").pk,
    # Progression 2021-08-01 after the last assessment (2020-03-15); the only contact before it.
    "progression_unconfirmed": lambda p: update(FollowUp, p, contact_date=date(2021, 7, 1)),
    "age_under_18": lambda p: update(Patient, p, date_of_birth=date(2003, 3, 3)),
    "diagnosis_after_registration": lambda p: update(Baseline, p, diagnosis_date=date(2021, 3, 3)),
    "l1_start_before_diagnosis": lambda p: update(FirstLineTherapy, p, start_date=date(2020, 1, 9)),
    "l2_start_before_l1_progression": lambda p: update(
        FirstLineTherapy, p, progression_date=date(2021, 3, 2)
    ),
    "assessment_1l_outside_window": lambda p: _move_first_1l_assessment(p, date(2021, 3, 2)),
    "assessment_2l_before_start": lambda p: _assessment(p, date(2021, 2, 28)).pk,
    "ae_onset_before_l2_start": lambda p: (
        update(AdverseEvent, p, onset_date=date(2021, 2, 28)) or _ae(p).pk
    ),
    "death_before_l2_start": lambda p: _died(p, date(2021, 2, 28), contact=date(2022, 2, 1)).pk,
    "treatment_after_death": lambda p: _died(p, date(2021, 7, 31)) and None,
    "assessment_after_death": lambda p: (
        _died(p, date(2021, 5, 1)) and _assessment(p, date(2021, 5, 2)).pk
    ),
    "ae_onset_after_death": lambda p: _died(p, date(2021, 3, 20)) and _ae(p).pk,
    "contact_after_death": lambda p: _alive_contact_after_death(p, date(2021, 12, 1)),
}


@pytest.fixture
def clean(coordinator_a):
    return build_casebook(coordinator_a, complete=True)


@pytest.fixture
def other(coordinator_a):
    return build_casebook(coordinator_a)


def test_every_rule_but_the_notice_has_a_breaking_case():
    untested = {r.code for r in RULES} - set(BREAKS)
    assert untested == {
        "missing_baseline",
        "missing_first_line",
        "missing_second_line",
        "missing_follow_up",
        "last_contact_overdue",
        "death_dates_disagree",
    }  # each has its own test below


# Grace 0: the rules waiting for a casebook to be entered apply at once.
@override_settings(QUALITY_ENTRY_GRACE_DAYS=0)
@pytest.mark.parametrize("code", sorted(BREAKS))
def test_rule_hits_exactly_the_broken_record(code, clean, other):
    record_id = BREAKS[code](other)
    assert hits(code) == {(other.pk, record_id)}


@override_settings(QUALITY_ENTRY_GRACE_DAYS=0)
def test_a_clean_casebook_hits_only_the_overdue_contact_notice(clean):
    found = {rule.code for rule in RULES if hits(rule.code)}
    assert found == {"last_contact_overdue"}  # its last contact is 2022-01-10


def test_age_over_90_counts_whole_years_at_registration(clean):
    update(Patient, clean, date_of_birth=date(1930, 3, 3))  # 90 the day before: not
    assert hits("age_over_90") == set()
    update(Patient, clean, date_of_birth=date(1930, 3, 2))  # 91 on the day
    assert hits("age_over_90") == {(clean.pk, None)}


def test_os_of_exactly_3652_days_is_not_over_10_years(clean):
    update(FollowUp, clean, contact_date=date(2031, 3, 1))
    assert hits("os_over_10_years") == set()


def test_disagreeing_death_dates_hit_both_follow_ups(clean):
    first = _died(clean, date(2022, 1, 5))
    second = _died(clean, date(2022, 1, 6))
    assert hits("death_dates_disagree") == {(clean.pk, first.pk), (clean.pk, second.pk)}


def test_overdue_contact_is_not_reported_for_a_dead_patient(clean):
    _died(clean, date(2022, 1, 5))
    assert hits("last_contact_overdue") == set()


@override_settings(QUALITY_FOLLOW_UP_INTERVAL_DAYS=100_000)
def test_recent_contact_is_not_overdue(clean):
    assert hits("last_contact_overdue") == set()


def test_rules_about_records_not_entered_yet_wait_for_the_grace_period(coordinator_a, clean):
    BREAKS["progression_unconfirmed"](clean)
    BREAKS["death_cause_ae_without_grade5"](clean)
    assert hits("progression_unconfirmed") == hits("death_cause_ae_without_grade5") == set()


def test_missing_parts_wait_for_the_grace_period(coordinator_a, clean):
    patient = register_patient(coordinator_a)
    missing = ("missing_baseline", "missing_first_line", "missing_second_line", "missing_follow_up")
    assert all(hits(code) == set() for code in missing)
    with override_settings(QUALITY_ENTRY_GRACE_DAYS=0):
        assert all(hits(code) == {(patient.pk, None)} for code in missing)


def test_a_screen_failure_has_no_missing_parts(coordinator_a):
    register_patient(coordinator_a, inc_confirmed_sclc=False)
    with override_settings(QUALITY_ENTRY_GRACE_DAYS=0):
        assert hits("missing_baseline") == set()


# -- the service: open, keep, close --------------------------------------------------------


def test_a_hit_opens_one_automatic_query_with_message_and_audit(clean, other):
    event = _ae(other)
    BREAKS["ae_grade5_without_death"](other)
    summary = rules_run()
    assert summary["opened"] == 1 and summary["closed"] == 0
    assert summary["hits"]["ae_grade5_without_death"] == 1
    assert summary["hits"]["last_contact_overdue"] == 2  # reported, no query
    query = Query.objects.get()
    assert (query.patient, query.origin, query.rule_code, query.raised_by) == (
        other,
        "rule",
        "ae_grade5_without_death",
        None,
    )
    assert (query.section, query.record_id, query.field, query.status) == (
        "adverse_events",
        event.pk,
        "grade",
        "open",
    )
    message = query.messages.get()
    assert (message.kind, message.author) == ("raise", None)
    assert message.text == "Grade 5 adverse event, but no follow-up reports the death."
    audit = AuditEvent.objects.get(action="query_raise")
    assert (audit.patient, audit.user, audit.detail["query"]) == (other, None, query.pk)


def test_a_multi_field_rule_names_the_part_only(clean):
    BREAKS["bmi_low"](clean)
    rules_run()
    query = Query.objects.get()
    assert (query.section, query.record_id, query.field) == ("baseline", None, "")


def test_running_twice_opens_nothing_new(clean, other):
    BREAKS["bmi_high"](clean)
    BREAKS["ae_onset_before_l2_start"](other)
    assert rules_run()["opened"] == 2
    assert rules_run() | {"hits": None} == {"hits": None, "opened": 0, "closed": 0}
    assert Query.objects.count() == 2
    assert QueryMessage.objects.count() == 2


def test_fixing_the_data_closes_the_query_itself(clean):
    BREAKS["cycles_2l_over_30"](clean)
    rules_run()
    update(SecondLineTherapy, clean, cycles=6)
    assert rules_run()["closed"] == 1
    query = Query.objects.get()
    assert (query.status, query.closed_by) == ("closed", None)
    assert query.closed_at is not None
    close = query.messages.get(kind="close")
    assert (close.author, close.text) == (None, CLOSE_TEXT)
    assert AuditEvent.objects.filter(action="query_close", patient=clean).count() == 1


def test_an_answered_automatic_query_closes_too_when_fixed(clean, coordinator_a):
    BREAKS["cycles_1l_over_30"](clean)
    rules_run()
    services.query_answer(user=coordinator_a, query_id=Query.objects.get().pk, text="Checking.")
    update(FirstLineTherapy, clean, cycles=4)
    assert rules_run()["closed"] == 1


def test_a_query_closed_by_a_data_manager_stays_closed_while_the_hit_persists(clean, data_manager):
    BREAKS["bmi_high"](clean)
    rules_run()
    query = Query.objects.get()
    services.query_close(user=data_manager, query_id=query.pk, text="Confirmed: 116 kg.")
    assert rules_run() | {"hits": None} == {"hits": None, "opened": 0, "closed": 0}
    query.refresh_from_db()
    assert (query.status, query.closed_by) == ("closed", data_manager)
    assert Query.objects.count() == 1


def test_a_notice_opens_no_query(clean):
    assert rules_run()["hits"]["last_contact_overdue"] == 1
    assert not Query.objects.exists()


def test_an_automatic_query_blocks_the_lock(clean):
    BREAKS["bmi_low"](clean)
    rules_run()
    assert lock_blockers(None, clean) == [f"query {Query.objects.get().pk} on Baseline is open"]


def test_a_run_for_one_patient_leaves_the_others_queries(clean, other):
    BREAKS["bmi_low"](clean)
    rules_run()
    assert rules_run([other.pk]) | {"hits": None} == {"hits": None, "opened": 0, "closed": 0}
    assert Query.objects.get().status == "open"


def test_the_database_refuses_a_second_query_for_the_same_rule_and_part(clean):
    BREAKS["bmi_low"](clean)
    rules_run()
    with pytest.raises(IntegrityError), transaction.atomic():
        Query.objects.create(patient=clean, section="baseline", origin="rule", rule_code="bmi_low")


def test_manual_queries_on_the_same_part_are_not_limited(clean, data_manager):
    for text in ("First question.", "Second question."):
        services.query_raise(user=data_manager, patient=clean, section="baseline", text=text)
    assert Query.objects.count() == 2


def _bulk(center, n):
    from tests.builders import bulk_casebooks

    patients = bulk_casebooks(center, n, seed=n)
    # Every one with a BMI under 15, so each run opens n queries.
    Baseline.objects.filter(patient__in=patients).update(weight_kg=30, height_cm=170)
    return patients


def test_the_number_of_database_queries_does_not_grow_with_the_cohort(center_a, center_b):
    counts = []
    for center, n in ((center_a, 5), (center_b, 25)):
        Query.objects.all().delete()
        _bulk(center, n)
        with CaptureQueriesContext(connection) as captured:
            summary = rules_run()
        assert summary["hits"]["bmi_low"] >= n
        counts.append(len(captured))
    assert counts[0] == counts[1]


# -- the report page ---------------------------------------------------------------------------

REPORT = "/quality/rules/"


@pytest.fixture
def two_centres(coordinator_a, coordinator_b):
    a = build_casebook(coordinator_a)
    BREAKS["bmi_low"](a)
    b1, b2 = build_casebook(coordinator_b), build_casebook(coordinator_b)
    BREAKS["bmi_low"](b1)
    BREAKS["bmi_low"](b2)
    return a, b1, b2


def _bmi_low_cell(html: str) -> str:
    row = html.split("<code>bmi_low</code>")[1].split("</tr>")[0]
    return row.split('data-label="By centre">')[1].split("</td>")[0]


def test_report_counts_hits_per_centre_for_a_data_manager(client, data_manager, two_centres):
    client.force_login(data_manager)
    response = client.get(REPORT)
    assert response.status_code == 200
    cell = _bmi_low_cell(response.content.decode())
    assert "AAA 1</a>" in cell and "BBB 2</a>" in cell
    assert "?rule=bmi_low&amp;center=BBB" in cell


def test_report_shows_site_staff_their_centre_only(client, coordinator_a, two_centres):
    client.force_login(coordinator_a)
    response = client.get(REPORT)
    assert response.status_code == 200
    cell = _bmi_low_cell(response.content.decode())
    assert "AAA 1</a>" in cell
    assert "BBB" not in response.content.decode()


def test_report_of_another_centre_is_404_for_site_staff(client, coordinator_a, two_centres):
    client.force_login(coordinator_a)
    assert client.get(REPORT, {"center": "BBB"}).status_code == 404
    assert client.get(REPORT, {"center": "AAA"}).status_code == 200


def test_report_csv_has_one_line_per_rule_and_centre(client, data_manager, two_centres):
    client.force_login(data_manager)
    response = client.get(REPORT, {"format": "csv"})
    assert response["Content-Type"] == "text/csv"
    lines = response.content.decode().splitlines()
    assert lines[0] == "rule,severity,section,fields,message,centre,hits"
    bmi = [line for line in lines if line.startswith("bmi_low,")]
    assert [line.rsplit(",", 2)[1:] for line in bmi] == [["AAA", "1"], ["BBB", "2"]]
    assert "missing_baseline,error,baseline,,The baseline is missing.,,0" in lines


def test_report_csv_for_site_staff_leaves_other_centres_out(client, coordinator_b, two_centres):
    client.force_login(coordinator_b)
    text = client.get(REPORT, {"format": "csv"}).content.decode()
    assert ",AAA," not in text and "bmi_low,warning,baseline" in text


def test_query_list_filters_by_rule(client, data_manager, two_centres):
    rules_run()
    services.query_raise(
        user=data_manager, patient=two_centres[0], section="baseline", text="Manual."
    )
    client.force_login(data_manager)
    html = client.get("/quality/queries/", {"rule": "bmi_low", "center": "BBB"}).content.decode()
    assert html.count('class="strong" href="/quality/queries/') == 2


def test_report_needs_a_login(client):
    assert client.get(REPORT).status_code == 302


# -- triggers ------------------------------------------------------------------------------


# Real commits (a transactional test): the check follows the commit of each save, once per
# patient and transaction, as in production.
@pytest.mark.django_db(transaction=True)
def test_a_casebook_save_checks_that_patient_after_the_commit(coordinator_a, clean):
    from registry import services as registry_services

    unlocked = build_casebook(coordinator_a)
    assert not Query.objects.exists()  # clean casebooks: nothing to question
    registry_services.crf_record_save(
        user=coordinator_a,
        patient=unlocked,
        section="second_line",
        data={"cycles": 31},
        expected_version=1,
    )
    query = Query.objects.get()
    assert (query.patient, query.rule_code) == (unlocked, "cycles_2l_over_30")


def test_run_quality_rules_command_prints_the_hits(clean):
    from io import StringIO

    from django.core.management import call_command

    BREAKS["bmi_high"](clean)
    out = StringIO()
    call_command("run_quality_rules", stdout=out)
    text = out.getvalue()
    assert "bmi_high" in text and "Automatic queries: 1 opened, 0 closed." in text


def test_the_beat_schedule_runs_the_rules_task():
    from django.conf import settings

    from quality.tasks import run_rules

    entry = settings.CELERY_BEAT_SCHEDULE["run-quality-rules"]
    assert (entry["task"], entry["schedule"]) == (run_rules.name, 3600.0)


def test_an_automatic_query_reads_on_its_page_and_in_the_api(client, data_manager, api_dm, clean):
    BREAKS["cycles_2l_over_30"](clean)
    rules_run()
    query = Query.objects.get()
    client.force_login(data_manager)
    html = client.get(f"/quality/queries/{query.pk}/").content.decode()
    assert "by a data-quality rule" in html
    assert "More than 30 second-line cycles: please check." in html
    body = api_dm.get(f"/api/v1/queries/{query.pk}/").json()
    assert (body["raised_by"], body["field"]) == (None, "cycles")
