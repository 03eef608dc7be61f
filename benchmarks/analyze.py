"""Time ``manage.py analyze`` (database mode, the whole command) on an existing cohort.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_big \\
        .venv/bin/python benchmarks/analyze.py [--repeat 3]

For a cohort already in the database (``benchmarks/generate_cohort.py``, grown with
``benchmarks/grow_cohort.py``): seeds the analysis plan if there is none, then runs
``manage.py analyze --out FILE`` in a new process per repeat, as an operator runs it
(start-up, reading the stored analysis rows, the engine, writing the bundle), and prints
each wall time, the median and the command's peak resident memory. Then once in this
process, where the time goes: reading the stored rows (COPY), the engine, the JSON bundle.
Reads only (but for the plan), so any database will do.
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
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connection

    from analytics.datasets import build_analysis_tables, locked_patients
    from analytics.models import AnalysisRow
    from analytics.services import plan_current, plan_seed_demo
    from analytics.stats import analyze, cli

    if plan_current() is None:
        started = time.perf_counter()
        plan_seed_demo()
        print(f"plan seeded (and its first run computed): {time.perf_counter() - started:.1f} s")
    print(
        f"database: {connection.vendor} {connection.settings_dict['NAME']}, "
        f"{locked_patients().count()} locked casebooks, {AnalysisRow.objects.count()} stored "
        f"analysis rows, {os.cpu_count()} CPUs"
    )
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            started = time.perf_counter()
            result = subprocess.run(
                [sys.executable, "manage.py", "analyze", "--out", f"{folder}/bundle.json"],
                cwd=ROOT,
                check=True,
                capture_output=True,
                text=True,
            )
            seconds.append(time.perf_counter() - started)
            print(f"  run: {seconds[-1]:.2f} s  ({result.stdout.strip()})", flush=True)
    # Linux: kilobytes; the largest of the children.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"manage.py analyze, whole command, median of {args.repeat}: "
        f"{statistics.median(seconds):.2f} s, peak RSS {peak:.0f} MB"
    )

    started = time.perf_counter()
    tables = build_analysis_tables()
    read = time.perf_counter() - started
    plan = plan_current()
    started = time.perf_counter()
    bundle = analyze(tables.patients, tables.adverse_events, plan.plan)
    engine = time.perf_counter() - started
    started = time.perf_counter()
    text = json.dumps(cli.to_jsonable(bundle), allow_nan=False, ensure_ascii=False)
    dump = time.perf_counter() - started
    print(
        f"in this process: reading the stored rows {read:.2f} s "
        f"({len(tables.patients)} patients, {len(tables.adverse_events)} adverse events), "
        f"engine {engine:.2f} s, JSON bundle {dump:.2f} s ({len(text) / 1e6:.1f} MB)"
    )


if __name__ == "__main__":
    main()
