"""Time ``manage.py analyze`` (database mode, the whole command) on an existing cohort.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_big \\
        .venv/bin/python benchmarks/analyze.py [--repeat 3] [--reference-plan]

For a cohort already in the database (``benchmarks/generate_cohort.py``, grown with
``benchmarks/grow_cohort.py``): seeds the analysis plan if there is none, then runs
``manage.py analyze --out FILE`` in a new process per repeat, as an operator runs it
(start-up, reading the stored analysis rows, the engine, writing the bundle), and prints
each wall time, the median and the command's peak resident memory. Then once in this
process, where the time goes: reading the stored rows (COPY), the engine, the JSON bundle.
Reads only (but for the plan), so any database will do. With ``--reference-plan`` it
writes nothing at all: the command runs the reference plan (``manage.py analyze
--reference-plan``, the plan the seeding would save) without saving it, for a database that
is only lent for reading.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production settings refuse to start without a key; a benchmark has no secrets to keep.
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
# Seeding the plan queues a first run: computed here, not left for a worker.
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--reference-plan",
        action="store_true",
        help="run the reference plan without saving it (the database is only read)",
    )
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connection

    from analytics.datasets import build_analysis_tables, locked_patients
    from analytics.models import AnalysisRow
    from analytics.services import plan_current, plan_seed_demo
    from analytics.stats import analyze, cli
    from analytics.stats.plan import reference_plan

    if args.reference_plan:
        plan_json = reference_plan()
    elif plan_current() is None:
        started = time.perf_counter()
        plan_seed_demo()
        print(f"plan seeded (and its first run computed): {time.perf_counter() - started:.1f} s")
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}, "
        f"{locked_patients().count()} locked casebooks, {AnalysisRow.objects.count()} stored "
        f"analysis rows, {os.cpu_count()} CPUs"
    )
    command = [sys.executable, "manage.py", "analyze", "--out"]
    extra = ["--reference-plan"] if args.reference_plan else []
    seconds, cpu = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            result = subprocess.run(
                [*command, f"{folder}/bundle.json", *extra],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            seconds.append(time.perf_counter() - started)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            print(
                f"  run: {seconds[-1]:.2f} s wall, {cpu[-1]:.2f} s CPU  ({result.stdout.strip()})",
                flush=True,
            )
    # Linux: kilobytes; the largest of the children.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"manage.py analyze, whole command, median of {args.repeat}: "
        f"{statistics.median(seconds):.2f} s wall, {statistics.median(cpu):.2f} s CPU, "
        f"peak RSS {peak:.0f} MB; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )

    def timed(step):
        wall, cpu = time.perf_counter(), time.process_time()
        value = step()
        return value, time.perf_counter() - wall, time.process_time() - cpu

    tables, read, read_cpu = timed(build_analysis_tables)
    if not args.reference_plan:
        plan_json = plan_current().plan
    bundle, engine, engine_cpu = timed(
        lambda: analyze(tables.patients, tables.adverse_events, plan_json)
    )
    text, dump, dump_cpu = timed(
        lambda: json.dumps(cli.to_jsonable(bundle), allow_nan=False, ensure_ascii=False)
    )
    print(
        f"in this process (wall / CPU): reading the stored rows {read:.2f} / {read_cpu:.2f} s "
        f"({len(tables.patients)} patients, {len(tables.adverse_events)} adverse events), "
        f"engine {engine:.2f} / {engine_cpu:.2f} s, JSON bundle {dump:.2f} / {dump_cpu:.2f} s "
        f"({len(text) / 1e6:.1f} MB)"
    )


if __name__ == "__main__":
    main()
