"""The "my work" page and /api/v1/my-work/ at scale. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench \
        .venv/bin/python benchmarks/my_work.py --patients 100000

Creates its own throw-away database (--throwaway-name, default test_my_work_bench; dropped
at the end unless --keep; --reuse keeps an existing one and its cohort), fills it with N
in-progress synthetic casebooks over 20 centres (``manage.py generate_cohort --seed S``, no
history), then gives every list work to show, with bulk UPDATEs and INSERTs:
  * every 2nd casebook is marked complete (ready to sign / lock unless it has a query);
  * every 10th gets an open query on its baseline, every 20th an answered one;
  * every 50th gets a dropped verification of its baseline weight.
The rest stay in progress; generate_cohort's last contacts are years old, so alive
patients are overdue follow-ups. Then, through Django's test client (the whole request:
middleware, session, template), the median of --repeat requests of:
  * a coordinator's and an investigator's page (one centre of 20: N/20 casebooks), each
    of their lists;
  * the data manager's page (every centre), each list; the API for both roles.
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
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
os.environ.setdefault("EXPORT_PSEUDONYM_KEY", "benchmark-only-export-pseudonym-not-a-secret")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402


def _timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _give_work(patients: int) -> dict[str, int]:
    """Complete every 2nd casebook, raise queries on every 10th and 20th, drop a check on
    every 50th: set-based, as data that reached the tables another way."""
    from django.db.models.functions import Mod
    from django.utils import timezone

    from quality.models import Query, Verification
    from registry.models import Patient, User

    manager, _ = User.objects.get_or_create(
        username="bench_dm", defaults={"role": "data_manager", "center": None}
    )
    now = timezone.now()
    every = lambda n: Patient.objects.alias(m=Mod("id", n)).filter(m=0)  # noqa: E731
    with transaction.atomic():
        done = every(2).update(casebook_status="complete")
        Query.objects.bulk_create(
            (
                Query(
                    patient_id=pk,
                    section="baseline",
                    field="weight_kg",
                    raised_by=manager,
                    status="answered" if pk % 20 == 0 else "open",
                    answered_at=now if pk % 20 == 0 else None,
                )
                for pk in every(10).values_list("pk", flat=True).iterator()
            ),
            batch_size=5000,
        )
        Verification.objects.bulk_create(
            (
                Verification(
                    patient_id=pk,
                    section="baseline",
                    field="weight_kg",
                    verified_by=manager,
                    dropped_at=now,
                    drop_detail={"field": "weight_kg"},
                )
                for pk in every(50).values_list("pk", flat=True).iterator()
            ),
            batch_size=5000,
        )
    return {
        "complete": done,
        "queries": Query.objects.count(),
        "dropped": Verification.objects.count(),
        "of": patients,
    }


def _median_ms(client, url: str, params: dict, repeat: int) -> tuple[float, int]:
    times = []
    for _ in range(repeat):
        seconds, response = _timed(lambda: client.get(url, params))
        assert response.status_code == 200, (url, params, response.status_code)
        times.append(seconds)
    return statistics.median(times) * 1000, len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--centers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1, help="generate_cohort's seed")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument("--reuse", action="store_true", help="reuse the database and cohort")
    parser.add_argument("--throwaway-name", default="test_my_work_bench")
    args = parser.parse_args()

    connection.settings_dict["TEST"]["NAME"] = args.throwaway_name
    old = setup_databases(
        verbosity=0, interactive=False, keepdb=args.reuse, serialized_aliases=set()
    )
    try:
        from django.test import Client
        from django.urls import reverse

        from quality import work
        from quality.models import Query
        from registry.models import Center, Patient, User

        have = Patient.objects.count()
        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        if have < args.patients:
            seconds, _ = _timed(
                lambda: call_command(
                    "generate_cohort",
                    patients=args.patients - have,
                    centers=args.centers,
                    seed=args.seed,
                    no_history=True,
                )
            )
            print(f"cohort generated in {seconds:.1f} s")
        n = Patient.objects.count()
        if not Query.objects.exists():
            seconds, made = _timed(lambda: _give_work(n))
            print(f"work made in {seconds:.1f} s: {made}")
        print(f"patients: {n:,}")

        center = Center.objects.order_by("code").first()
        people = {
            "coordinator": User.objects.get_or_create(
                username="bench_coord", defaults={"role": "coordinator", "center": center}
            )[0],
            "investigator": User.objects.get_or_create(
                username="bench_inv", defaults={"role": "investigator", "center": center}
            )[0],
            "data manager": User.objects.get(username="bench_dm"),
        }
        page = reverse("quality:my_work")
        for role, user in people.items():
            client = Client()
            client.force_login(user)
            counts = work.work_counts(user)
            seconds, _ = _timed(lambda user=user: work.work_counts(user))
            print(f"\n{role} ({center.code if user.center_id else 'all centres'}):")
            print(f"  counts alone: {seconds * 1000:7.0f} ms  {counts}")
            for w in work.work_lists_for(user):
                ms, size = _median_ms(client, page, {"list": w.key}, args.repeat)
                ms2, _ = _median_ms(client, page, {"list": w.key, "page": 3}, args.repeat)
                print(
                    f"  page {w.key:24} {counts[w.key]:>8,} rows  {ms:7.0f} ms "
                    f"(page 3: {ms2:5.0f} ms, {size // 1024} KiB)"
                )
            ms, _ = _median_ms(client, "/api/v1/my-work/", {}, args.repeat)
            print(f"  API /api/v1/my-work/: {ms:7.0f} ms")
        print(f"\nmedians of {args.repeat} requests each, {n:,} patients")
    finally:
        if args.keep or args.reuse:
            print(f"kept database {connection.settings_dict['NAME']}")
        else:
            teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
