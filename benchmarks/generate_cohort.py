"""Time ``manage.py generate_cohort`` on PostgreSQL and print the figures.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_data_bench \\
        .venv/bin/python benchmarks/generate_cohort.py [--patients 100000] [--centers 20] \\
        [--repeats 1] [--no-history] [--no-lock] [--jobs 1]

Each repeat empties the benchmark database (``flush``; refused unless the database name
contains "bench"), then runs the command as a child process, so start-up and the final
commit are inside the time. Prints the command's progress as it comes, each run, the
median wall time, the rate (patients/s), the child's peak resident memory and the rows
written per table. The last run's cohort stays in the database (the export and analyze
benchmarks can reuse it).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--centers", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--no-history", action="store_true")
    parser.add_argument("--no-lock", action="store_true")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

    # Production settings refuse to start without a key; a benchmark has no secrets to keep.

    os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
    os.environ.setdefault("EXPORT_PSEUDONYM_KEY", "benchmark-only-export-pseudonym-not-a-secret")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or "bench" not in str(name):
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL database whose name contains 'bench' "
            "(it is emptied before each run)."
        )
    call_command("migrate", verbosity=0)
    command = [
        sys.executable,
        "manage.py",
        "generate_cohort",
        "--patients",
        str(args.patients),
        "--centers",
        str(args.centers),
        "--seed",
        str(args.seed),
        "--batch-size",
        str(args.batch_size),
        "--jobs",
        str(args.jobs),
    ]
    if not args.no_lock:
        command.append("--lock")
    if args.no_history:
        command.append("--no-history")
    times = []
    peaks = []
    for run in range(1, args.repeats + 1):
        call_command("flush", interactive=False, verbosity=0)
        started = time.perf_counter()
        with subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # progress lines as they come
        ) as child:
            summary = ""
            for line in child.stdout:
                summary = line.strip() or summary
                print(f"  | {summary}", flush=True)
        if child.returncode:
            sys.exit(f"generate_cohort failed with exit status {child.returncode}")
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        # The largest peak of any child so far (Linux: kilobytes); with --jobs the largest
        # worker's, not their sum.
        peaks.append(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
        print(
            f"run {run}: {elapsed:.1f} s wall ({args.patients / elapsed:.0f} patients/s), "
            f"peak RSS of the command {peaks[-1]:.0f} MB"
        )
        print(f"  command: {summary}")
    median = statistics.median(times)
    print(
        f"generate_cohort {args.patients} patients, {args.centers} centres, "
        f"{'no history' if args.no_history else 'with history'}, "
        f"{'open' if args.no_lock else 'locked'}: median {median:.1f} s "
        f"= {median / 60:.1f} min, {args.patients / median:.0f} patients/s, "
        f"peak RSS {max(peaks):.0f} MB "
        f"(PostgreSQL {connection.pg_version // 10000}, {os.cpu_count()} CPUs)"
    )
    with connection.cursor() as cursor:
        for table in (
            "registry_patient",
            "registry_baseline",
            "registry_firstlinetherapy",
            "registry_secondlinetherapy",
            "registry_tumourassessment",
            "registry_adverseevent",
            "registry_followup",
            "registry_historicaladverseevent",
            "registry_auditevent",
            "registry_sectioncompletion",
            "registry_signature",
        ):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            print(f"  {table:<36} {cursor.fetchone()[0]:>10} rows")


if __name__ == "__main__":
    main()
