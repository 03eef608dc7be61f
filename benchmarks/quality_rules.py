"""The data-quality rules over a whole cohort, at scale. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench \
        .venv/bin/python benchmarks/quality_rules.py --patients 100000

Creates its own throw-away database (--throwaway-name, default test_quality_rules_bench;
dropped at the end unless --keep; --reuse keeps an existing one and its cohort), fills it
with N locked synthetic casebooks over 20 centres with ``manage.py generate_cohort --lock
--seed S`` (history off: no rule reads it), then times ``quality.checks.rules_run()`` over
the whole cohort. generate_cohort's casebooks are clean (a few hundred hits), so before each
repeat every --dirty-every-th second line gets 1,000 cycles more (5,000 hits at 100,000):
  * first run: every rule's hits, and the automatic queries it opens (with their messages
    and audit events), from an empty query table (the queries are deleted between repeats);
  * second run: the same hits, nothing to open or close (the hourly beat run's usual case);
  * third run, after the cycles are put back: closes the 5,000 queries itself;
  * each rule's one query alone, once.
Medians of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production settings refuse to start without a key; a benchmark has no secrets to keep.
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
os.environ.setdefault("EXPORT_PSEUDONYM_KEY", "benchmark-only-export-pseudonym-not-a-secret")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
# The cohort is generated minutes before it is checked: without this, the rules that wait
# for a casebook to be entered (missing parts…) would skip every patient and cost nothing.
os.environ["QUALITY_ENTRY_GRACE_DAYS"] = "0"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402


def _forget_automatic_queries() -> None:
    """Back to a cohort nobody has checked: no automatic query, message or audit event."""
    from quality.models import Query
    from registry.models import AuditEvent

    AuditEvent.objects.filter(user=None, detail__has_key="rule").delete()
    Query.objects.filter(origin=Query.Origin.RULE).delete()  # messages cascade


def _cycles(every: int, delta: int) -> int:
    """Add ``delta`` cycles to every ``every``-th patient's second line, as data that reached
    the tables another way would: unlocked around one UPDATE (the database refuses writes to
    a locked casebook), then locked again."""
    from django.db import transaction
    from django.db.models import F
    from django.db.models.functions import Mod

    from registry.models import Patient, SecondLineTherapy

    patients = Patient.objects.alias(m=Mod("id", every)).filter(m=0)
    with transaction.atomic():
        patients.update(casebook_status="complete")
        n = SecondLineTherapy.objects.filter(patient__in=patients).update(
            cycles=F("cycles") + delta
        )
        patients.update(casebook_status="locked")
    return n


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--centers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1, help="generate_cohort's seed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", action="store_true", help="reuse the database and cohort")
    parser.add_argument("--throwaway-name", default="test_quality_rules_bench")
    parser.add_argument("--dirty-every", type=int, default=20, help="patients per added hit")
    args = parser.parse_args()

    connection.settings_dict["TEST"]["NAME"] = args.throwaway_name
    # Not serialized: Django would dump the whole reused cohort to a string first (a minute).
    old = setup_databases(
        verbosity=0, interactive=False, keepdb=args.reuse, serialized_aliases=set()
    )
    try:
        from quality.checks import rules_run
        from quality.rules import RULES
        from registry.models import Patient

        have = Patient.objects.count()
        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        if have < args.patients:
            seconds, _ = _timed(
                lambda: call_command(
                    "generate_cohort",
                    patients=args.patients - have,
                    centers=args.centers,
                    seed=args.seed,
                    lock=True,
                    no_history=True,
                )
            )
            print(f"cohort generated in {seconds:.1f} s")
        n = Patient.objects.count()
        print(f"patients: {n:,}")

        scope = Patient.objects.all()
        print("\nper rule (one query each, alone):")
        for rule in RULES:
            seconds, found = _timed(lambda rule=rule: len(list(rule.hits(scope))))
            print(f"  {rule.code:32} {rule.severity:8} {found:>8,} hits  {seconds * 1000:8.0f} ms")

        first, second, third = [], [], []
        for _ in range(args.repeat):
            _forget_automatic_queries()
            dirty = _cycles(args.dirty_every, 1000)
            seconds, summary = _timed(rules_run)
            first.append(seconds)
            print(
                f"first run:  {seconds:6.2f} s, opened {summary['opened']:,} ({dirty:,} made dirty)"
            )
            seconds, summary = _timed(rules_run)
            second.append(seconds)
            print(
                f"second run: {seconds:6.2f} s, opened {summary['opened']}, "
                f"closed {summary['closed']}"
            )
            _cycles(args.dirty_every, -1000)
            seconds, summary = _timed(rules_run)
            third.append(seconds)
            print(f"third run:  {seconds:6.2f} s, closed {summary['closed']:,} (data fixed)")
        print(
            f"\n{n:,} patients, {len(RULES)} rules: first run (opens the queries) median "
            f"{statistics.median(first):.2f} s (min {min(first):.2f}, max {max(first):.2f}); "
            f"second run (nothing new) median {statistics.median(second):.2f} s "
            f"(min {min(second):.2f}, max {max(second):.2f}); third run (closes them) median "
            f"{statistics.median(third):.2f} s (min {min(third):.2f}, max {max(third):.2f})"
        )
    finally:
        if args.keep or args.reuse:
            print(f"kept database {connection.settings_dict['NAME']}")
        else:
            teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
