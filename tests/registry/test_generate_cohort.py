"""``manage.py generate_cohort``: validated synthetic casebooks written in bulk."""

import random
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from registry import rules
from registry.casebook import load_casebooks
from registry.management.commands.generate_cohort import validate_casebook
from registry.models import AdverseEvent, Center, Patient, Signature
from registry.services import _section_problems
from registry.synthetic import centre_code, synthetic_casebook
from tests.conftest import service_missing

pytestmark = pytest.mark.django_db


def generate(*args) -> str:
    out = StringIO()
    call_command("generate_cohort", *args, stdout=out)
    return out.getvalue()


def test_small_locked_run_writes_valid_locked_casebooks():
    generate("--patients", "40", "--centers", "3", "--seed", "7", "--lock", "--batch-size", "15")
    books = load_casebooks(Patient.objects.all())
    assert len(books) == 40
    for book in books:
        assert book.patient.casebook_status == "locked"
        assert rules.casebook_violations(book) == []
        assert [
            p
            for s in book.patient.completions.values_list("section", flat=True)
            for p in _section_problems(book, s)
        ] == []
        assert book.analysis_row() is not None
    assert Signature.objects.valid().count() == 40


def test_study_ids_follow_each_centres_sequence():
    generate("--patients", "30", "--centers", "2", "--seed", "1")
    for centre in Center.objects.all():
        sequences = list(
            Patient.objects.filter(center=centre).order_by("sequence").values_list("study_id")
        )
        assert [sid for (sid,) in sequences] == [
            f"{centre.code}-{n:04d}" for n in range(1, len(sequences) + 1)
        ]


def test_a_second_run_continues_the_sequences():
    generate("--patients", "5", "--centers", "1", "--seed", "1")
    generate("--patients", "5", "--centers", "1", "--seed", "2")
    assert list(Patient.objects.order_by("sequence").values_list("sequence", flat=True)) == list(
        range(1, 11)
    )


def test_generated_records_have_a_creation_history_row():
    generate("--patients", "5", "--centers", "1", "--seed", "3")
    for event in AdverseEvent.objects.all():
        record = event.history.get()
        assert (record.history_type, record.history_change_reason) == ("+", "generate_cohort")
        assert record.history_user.username == "cohort_generator"


def test_run_prints_the_rate():
    output = generate("--patients", "4", "--centers", "1")
    assert "patients/s" in output.splitlines()[-1]


def test_same_seed_draws_the_same_casebooks():
    centre = Center(code="SAA", name="x")
    first = synthetic_casebook(random.Random(5), centre, 1).analysis_row()
    again = synthetic_casebook(random.Random(5), centre, 1).analysis_row()
    assert first == again


def test_validation_refuses_a_broken_casebook():
    book = synthetic_casebook(random.Random(5), Center(code="SAA", name="x"), 1)
    book.adverse_events.append(
        AdverseEvent(
            patient=book.patient,
            term="Cough",
            grade=1,
            serious=False,
            immune_related=False,
            attribution="possible",
            action_taken="none",
            outcome="recovered",
            onset_date=book.second_line.start_date.replace(year=2000),
        )
    )
    with pytest.raises(CommandError, match="onset_date"):
        validate_casebook(book)


def test_centre_codes_are_unique_capital_letters():
    codes = [centre_code(i) for i in range(3000)]
    assert codes[:2] == ["SAA", "SAB"]
    assert len(set(codes)) == 3000
    assert all(code.isalpha() and code.isupper() and 3 <= len(code) <= 4 for code in codes)


@pytest.mark.django_db(transaction=True)
def test_parallel_workers_keep_each_centres_sequence_contiguous():
    # Committed transactions, a writer thread and two worker processes: PostgreSQL only.
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL (parallel generate_cohort)")
    output = generate(
        "--patients", "60", "--centers", "3", "--jobs", "2", "--lock", "--batch-size", "20"
    )
    assert "2 process(es)" in output.splitlines()[-1]
    assert Patient.objects.filter(casebook_status="locked").count() == 60
    for centre in Center.objects.all():
        sequences = list(
            Patient.objects.filter(center=centre)
            .order_by("sequence")
            .values_list("sequence", flat=True)
        )
        assert sequences == list(range(1, len(sequences) + 1))
