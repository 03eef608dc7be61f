"""``manage.py generate_cohort --patients N --centers K --seed S [--lock]``.

Synthetic casebooks (``registry.synthetic``) validated in memory with the services' rules
— every record's ``full_clean`` (fields, ranges, single-record rules) and the cross-part
``registry.rules.casebook_violations`` on the whole casebook — then written with
``bulk_create`` in batches, one transaction per batch, with a simple-history "created" row
per record (user: the generator account, reason "generate_cohort") so the audit trail of a
synthetic record looks like that of an entered one. ``--no-history`` skips those rows.
With ``--lock`` every casebook is marked complete (all parts), signed by the generator
account (a data manager without a usable password) and locked, with the same audit events
the services write. The rate (patients/s) is printed per batch and at the end.
"""

from __future__ import annotations

import multiprocessing
import random
import time
from concurrent.futures import ThreadPoolExecutor

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections, transaction
from django.db.models import Max
from django.utils import timezone

from core.roles import Role
from registry import choices as c
from registry import rules, signals
from registry.bulk import BulkWriter
from registry.casebook import section_records
from registry.models import (
    CRF_MODELS,
    AuditEvent,
    Center,
    Patient,
    SectionCompletion,
    Signature,
    User,
)
from registry.services import SIGNATURE_MEANING
from registry.synthetic import centre_code, synthetic_casebook

GENERATOR_USERNAME = "cohort_generator"
REASON = "generate_cohort"


class Command(BaseCommand):
    help = "Generate N validated synthetic casebooks over K centres with bulk inserts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--patients", type=int, required=True)
        parser.add_argument("--centers", type=int, required=True)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--lock", action="store_true", help="Complete, sign and lock all.")
        parser.add_argument("--batch-size", type=int, default=2000)
        parser.add_argument(
            "--no-history", action="store_true", help="Skip the simple-history rows."
        )
        parser.add_argument(
            "--jobs",
            type=int,
            default=1,
            help="Worker processes on PostgreSQL, each owning whole centres (default 1).",
        )

    def handle(self, *args, **options) -> None:
        n, k, batch_size = options["patients"], options["centers"], options["batch_size"]
        jobs = options["jobs"]
        if n < 1:
            raise CommandError("--patients: give at least 1.")
        if not 1 <= k <= 17576:
            raise CommandError("--centers: give 1 to 17576 centres.")
        if batch_size < 1:
            raise CommandError("--batch-size: give at least 1.")
        if jobs < 1:
            raise CommandError("--jobs: give at least 1.")
        _generator_user()
        centres = [
            Center.objects.get_or_create(
                code=centre_code(i), defaults={"name": f"Synthetic centre {centre_code(i)}"}
            )[0]
            for i in range(k)
        ]
        settings = {
            "lock": options["lock"],
            "history": not options["no_history"],
            "batch_size": batch_size,
        }
        # Worker processes need their own connections and commits: PostgreSQL, outside an
        # outer transaction (tests run inline), and no more workers than centres.
        parallel = connection.vendor == "postgresql" and not connection.in_atomic_block and jobs > 1
        jobs = min(jobs, k) if parallel else 1
        # Each worker owns whole centres, so every centre's sequence stays contiguous; the
        # patients are shared out in proportion, and the result depends on (seed, jobs).
        shares = [centres[w::jobs] for w in range(jobs)]
        counts = [n * len(share) // k for share in shares]
        counts[0] += n - sum(counts)
        tasks = [
            (
                f"{options['seed']}-{w}" if jobs > 1 else options["seed"],
                [c.pk for c in share],
                count,
                settings,
            )
            for w, (share, count) in enumerate(zip(shares, counts, strict=True))
            if count
        ]
        started = time.perf_counter()
        if len(tasks) == 1:
            totals = [generate(*tasks[0], out=self.stdout)]
        else:
            connections.close_all()  # children must not share the parent's connection
            with multiprocessing.get_context("fork").Pool(len(tasks)) as pool:
                totals = pool.starmap(_generate_in_worker, tasks)
        elapsed = time.perf_counter() - started
        drawing = sum(t["drawing"] for t in totals)
        waiting = sum(t["waiting"] for t in totals)
        self.stdout.write(
            f"Generated {n} patients at {k} centres in {elapsed:.1f} s: "
            f"{n / elapsed:.0f} patients/s ({len(tasks)} process(es); drawing and validating "
            f"{drawing:.1f} s, waiting for inserts {waiting:.1f} s; "
            f"history {'on' if settings['history'] else 'off'}, "
            f"{'locked' if settings['lock'] else 'open'}, {connection.vendor})."
        )


def _generate_in_worker(seed, centre_ids, count, settings) -> dict:
    try:
        return generate(seed, centre_ids, count, settings, out=None)
    finally:
        connections.close_all()


def generate(seed, centre_ids: list[int], n: int, settings: dict, *, out) -> dict:
    """Draw, validate and write ``n`` casebooks at the given centres; returns the timings."""
    rng = random.Random(seed)
    generator = User.objects.get(username=GENERATOR_USERNAME)
    centres = list(Center.objects.filter(pk__in=centre_ids).order_by("pk"))
    # Continue each centre's sequence after what is already there.
    last = dict(
        Patient.objects.filter(center__in=centres)
        .values_list("center_id")
        .annotate(m=Max("sequence"))
    )
    next_seq = {centre.pk: (last.get(centre.pk) or 0) + 1 for centre in centres}
    lock, history, batch_size = settings["lock"], settings["history"], settings["batch_size"]
    # On PostgreSQL a writer thread inserts batch i while this thread draws and validates
    # batch i+1 (psycopg releases the GIL while it waits for the server). Inside an outer
    # transaction (tests) the writer must share this connection, so it runs inline.
    pipelined = connection.vendor == "postgresql" and not connection.in_atomic_block
    executor = ThreadPoolExecutor(max_workers=1) if pipelined else None
    pending = None
    started = time.perf_counter()
    drawn = done = 0
    drawing = waiting = 0.0
    tag = f"[{centres[0].code}…] " if out is None else ""

    def report(count: int) -> None:
        elapsed = time.perf_counter() - started
        line = f"{tag}{count:>9} patients  {elapsed:8.1f} s  {count / elapsed:8.0f} patients/s"
        if out is None:
            print(line, flush=True)
        else:
            out.write(line)

    try:
        while drawn < n:
            size = min(batch_size, n - drawn)
            drawn += size
            t0 = time.perf_counter()
            books = []
            for _ in range(size):
                centre = centres[rng.randrange(len(centres))]
                book = synthetic_casebook(rng, centre, next_seq[centre.pk])
                next_seq[centre.pk] += 1
                validate_casebook(book)
                books.append(book)
            t1 = time.perf_counter()
            drawing += t1 - t0
            if executor is None:
                write_batch(books, generator, lock=lock, history=history)
                waiting += time.perf_counter() - t1
                done += size
                report(done)
                continue
            if pending is not None:
                done += pending.result()
                report(done)
            waiting += time.perf_counter() - t1
            pending = executor.submit(_write_in_thread, books, generator, lock, history)
        if pending is not None:
            t1 = time.perf_counter()
            done += pending.result()
            waiting += time.perf_counter() - t1
            report(done)
    finally:
        if executor is not None:
            executor.submit(_close_connection).result()
            executor.shutdown()
    return {"done": done, "drawing": drawing, "waiting": waiting}


def _close_connection() -> None:
    connection.close()  # the writer thread's own connection


def _write_in_thread(books, generator: User, lock: bool, history: bool) -> int:
    write_batch(books, generator, lock=lock, history=history)
    return len(books)


def _generator_user() -> User:
    user, created = User.objects.get_or_create(
        username=GENERATOR_USERNAME,
        defaults={
            "role": Role.DATA_MANAGER,
            "first_name": "Synthetic",
            "last_name": "cohort generator",
            "is_active": False,
        },
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


class InvalidSyntheticCasebook(CommandError):
    pass


def validate_casebook(book) -> None:
    """The services' validation on an unsaved casebook: each record, then the cross-part rules.

    Uniqueness and database constraints are left to the database (they would cost a query
    per record here), which enforces them on insert.
    """
    records = [
        book.patient,
        book.baseline,
        book.first_line,
        book.second_line,
        *book.assessments,
        *book.adverse_events,
        *book.follow_ups,
    ]
    for record in records:
        try:
            record.full_clean(
                exclude=["patient", "center"], validate_unique=False, validate_constraints=False
            )
        except Exception as error:
            raise InvalidSyntheticCasebook(f"{book.patient.study_id} {record}: {error}") from error
    violations = rules.casebook_violations(book)
    if violations:
        v = violations[0]
        raise InvalidSyntheticCasebook(f"{book.patient.study_id} {v.record} {v.field} {v.message}")


CHILD_MODELS = tuple(
    (model, lambda book, section=model.section: section_records(book, section))
    for model in CRF_MODELS
)


@transaction.atomic
def write_batch(books, generator: User, *, lock: bool, history: bool) -> None:
    """Insert one batch. Locked casebooks are inserted complete and locked only after their
    records, so a database guard against writes to locked casebooks is never tripped."""
    now = timezone.now()
    writer = BulkWriter(generator, now, reason=REASON)
    patients = [b.patient for b in books]
    status = c.CasebookStatus.COMPLETE if lock else c.CasebookStatus.IN_PROGRESS
    for p in patients:
        p.casebook_status = status
    writer.insert(Patient, patients)
    if history:
        writer.insert_history(Patient, patients)
    for model, records_of in CHILD_MODELS:
        records = [r for b in books for r in records_of(b)]
        for r in records:
            r.patient_id = r.patient.pk
        writer.insert(model, records)
        if history:
            writer.insert_history(model, records)
    user = generator.pk
    writer.insert_values(
        AuditEvent,
        [
            {
                "at": now,
                "user_id": user,
                "patient_id": p.pk,
                "action": AuditEvent.Action.REGISTER,
                "detail": {"study_id": p.study_id, "failed_criterion": "", "source": REASON},
                "reason": "",
            }
            for p in patients
        ],
    )
    if not lock:
        return
    writer.insert_values(
        SectionCompletion,
        [
            {"patient_id": p.pk, "section": s, "completed_at": now, "completed_by_id": user}
            for p in patients
            for s in c.Section.values
        ],
    )
    signature_ids = writer.insert_values(
        Signature,
        [
            {
                "patient_id": p.pk,
                "signed_by_id": user,
                "signed_at": now,
                "meaning": SIGNATURE_MEANING,
            }
            for p in patients
        ],
    )
    events = []
    for p, signature_id in zip(patients, signature_ids, strict=True):
        common = {"at": now, "user_id": user, "patient_id": p.pk, "reason": ""}
        events.append(
            {**common, "action": AuditEvent.Action.CASEBOOK_COMPLETE, "detail": {"source": REASON}}
        )
        events.append(
            {
                **common,
                "action": AuditEvent.Action.LOCK,
                "detail": {
                    "signature_id": signature_id,
                    "signed_at": now.isoformat(),
                    "source": REASON,
                },
            }
        )
    writer.insert_values(AuditEvent, events)
    Patient.objects.filter(pk__in=[p.pk for p in patients]).update(
        casebook_status=c.CasebookStatus.LOCKED
    )
    signals.casebook_lock_changed.send(sender=Patient, patient_ids=[p.pk for p in patients])
    for p in patients:
        p.casebook_status = c.CasebookStatus.LOCKED
