"""``manage.py seed_demo`` enters the designed cohort through the services."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from fixtures.demo_cohort import DEMO_PASSWORD, demo_analysis_rows
from registry.casebook import load_casebooks
from registry.models import AuditEvent, Center, Patient, Signature, User
from tests.registry import cohort_tables as t

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Seed once for the module (28 casebooks through the services take a while); each test
    still runs in its own transaction on top, and the data are flushed afterwards."""
    with django_db_blocker.unblock():
        output = seed()
    yield output
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)


def db_rows():
    books = load_casebooks(Patient.objects.all())
    return (
        [b.analysis_row() for b in books],
        [row for b in books for row in b.adverse_event_rows()],
    )


def snapshot() -> dict:
    from django.apps import apps

    counts = {
        m._meta.label: m.objects.count() for m in apps.get_app_config("registry").get_models()
    }
    return {"counts": counts, "passwords": list(User.objects.values_list("password", flat=True))}


def test_seed_demo_reproduces_table_1_counts_exactly(seeded):
    patients, _ = db_rows()
    assert len(patients) == 28
    assert t.table1_counts(patients) == t.TABLE_1
    assert t.age_quartiles(patients) == [65.0, 55.25, 69.0]


def test_seed_demo_stores_exactly_the_designed_cohort(seeded):
    stored, stored_ae = db_rows()
    designed, designed_ae = demo_analysis_rows()
    key = lambda r: r["study_id"]  # noqa: E731
    assert sorted(stored, key=key) == sorted(designed, key=key)
    ae_key = lambda r: (r["study_id"], r["onset_day"], r["term"], r["grade"])  # noqa: E731
    assert sorted(stored_ae, key=ae_key) == sorted(designed_ae, key=ae_key)


def test_seed_demo_twice_gives_the_same_state(seeded):
    first = snapshot()
    output = seed()
    assert snapshot() == first
    assert "0 added now" in output


def test_every_demo_casebook_is_locked_and_signed_at_its_centre(seeded):
    assert set(Patient.objects.values_list("casebook_status", flat=True)) == {"locked"}
    for signature in Signature.objects.select_related("patient", "signed_by"):
        assert signature.voided_at is None
        assert signature.signed_by.role == "investigator"
        assert signature.signed_by.center_id == signature.patient.center_id
    assert Signature.objects.count() == 28
    assert AuditEvent.objects.filter(action="lock").count() == 28


def test_demo_records_were_entered_by_the_centre_coordinator(seeded):
    patient = Patient.objects.select_related("center").first()
    history = patient.adverse_events.first().history.get()
    assert history.history_user.username == f"coord_{patient.center.code.lower()}"


def test_demo_logins_work_with_the_documented_password(seeded):
    output = seeded
    assert DEMO_PASSWORD in output
    for username in ("coord_ngh", "inv_ngh", "coord_rvh", "datamanager", "pi", "admin"):
        assert username in output
        assert authenticate(username=username, password=DEMO_PASSWORD) is not None
    assert Center.objects.count() == 6


def test_seed_demo_adds_queries_in_every_state_without_changing_the_data(seeded):
    from quality.models import Query

    manual = Query.objects.filter(origin="manual")
    counts = {s: manual.filter(status=s).count() for s in Query.Status}
    assert counts == {Query.Status.OPEN: 3, Query.Status.ANSWERED: 2, Query.Status.CLOSED: 3}
    # Raised by the data manager, answered by the patient's own centre, never corrected.
    assert set(manual.values_list("raised_by__username", flat=True)) == {"datamanager"}
    answers = manual.exclude(answered_at=None)
    for query in answers:
        answer = query.messages.get(kind="answer")
        assert answer.author.username == f"coord_{query.patient.center.code.lower()}"
        assert answer.detail == {}


def test_seed_demo_verifies_two_and_a_half_centres_and_requires_sdv_to_lock(seeded):
    from quality import verifications
    from quality.models import StudySettings, Verification

    assert StudySettings.objects.get().lock_requires_sdv
    assert not Verification.objects.filter(dropped_at__isnull=False).exists()
    manager = User.objects.get(username="datamanager")
    progress = {p.center: p.percent for p in verifications.critical_progress(manager)}
    assert progress["NGH"] == progress["RVH"] == 100.0
    assert 0 < progress["LCC"] < 100
    assert progress["EMU"] == progress["WPH"] == progress["SCH"] == 0.0
    # Every demo casebook of NGH has all its critical values verified; EMU's none.
    assert not any(
        verifications.missing_critical(p) for p in Patient.objects.filter(center__code="NGH")
    )
    assert all(
        verifications.missing_critical(p) for p in Patient.objects.filter(center__code="EMU")
    )


def test_the_rules_question_the_demo_casebooks_with_more_than_30_2l_cycles(seeded):
    """The demo gives a 2L cycle every 21 days until the end of treatment (or the data cut):
    the patients treated longest pass 30 cycles; no other error or warning rule applies."""
    from fixtures.demo_cohort import demo_casebooks
    from quality.models import Query

    long_treated = {b.patient.study_id for b in demo_casebooks() if b.second_line.cycles > 30}
    # More than 30 cycles is 630 days or more on treatment: in demo_cohort.SURVIVAL only the
    # four patients alive without progression with 694-797 days of follow-up (no
    # progression comes later than day 341).
    assert len(long_treated) == 4
    automatic = Query.objects.filter(origin="rule")
    assert set(automatic.values_list("rule_code", flat=True)) == {"cycles_2l_over_30"}
    assert set(automatic.values_list("patient__study_id", flat=True)) == long_treated
    assert set(automatic.values_list("status", flat=True)) == {"open"}
