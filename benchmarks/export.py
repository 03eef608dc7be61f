"""Time and peak memory of one de-identified export at 10,000 and 100,000 patients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_export_bench \
        .venv/bin/python benchmarks/export.py --sizes 10000,100000 --repeat 3 [--seed 7]

For each size the script empties the registry tables and generates a locked synthetic
cohort with ``manage.py generate_cohort --lock`` (--centers, --seed; --reuse keeps a
cohort that already has n patients), then runs the export in a fresh process per repeat,
so the peak resident memory it reports is the export's, not the generator's. Prints
medians.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production settings refuse to start without a key; a benchmark has no secrets to keep.
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
os.environ.setdefault("EXPORT_PSEUDONYM_KEY", "benchmark-only-export-pseudonym-not-a-secret")


def _setup():
    import django

    django.setup()


def _rss_mb() -> float:
    """Peak resident memory of this process image.

    VmHWM, not ru_maxrss: Linux carries ru_maxrss across fork+exec, so a child started by
    the (large) generator process would report the parent's peak as its own.
    """
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def generate(n: int, centres: int, seed: int) -> dict:
    """Empty the registry tables, then ``manage.py generate_cohort --lock`` n casebooks.

    generate_cohort writes each casebook's CRF rows before locking it, so the PostgreSQL
    guard against writes to locked casebooks (migration 0003) is never tripped. No history
    rows: the export does not read them.
    """
    from django.core.management import call_command
    from django.db import connection

    from registry.models import AdverseEvent, Patient

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE fires none of the row or statement guards on locked casebooks; CASCADE
            # takes every table that refers to patients (CRF parts, signatures, audit, exports).
            cursor.execute(
                "TRUNCATE registry_exportjob, registry_pseudonymkey, registry_auditevent, "
                "registry_patient CASCADE"
            )
        else:
            for relation in Patient._meta.related_objects:
                related = relation.related_model
                related.objects.all()._raw_delete(related.objects.db)
            Patient.objects.all()._raw_delete(Patient.objects.db)
    _bench_pi()
    call_command(
        "generate_cohort", patients=n, centers=centres, seed=seed, lock=True, no_history=True
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"patients": Patient.objects.count(), "adverse_events": AdverseEvent.objects.count()}


def _bench_pi():
    """The PI account the export runs as (all centres, never identified)."""
    from core.roles import Role
    from registry.models import User

    return User.objects.get_or_create(username="bench_pi", defaults={"role": Role.PI})[0]


def measure(formats: list[str]) -> dict:
    """One export as the benchmark PI, in this (fresh) process."""
    from exchange import services
    from registry.models import User

    baseline = _rss_mb()
    user = User.objects.get(username="bench_pi")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    job = services.export_request(user=user, formats=formats, enqueue=False)
    job = services.export_run(job_id=job.pk)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    if job.status != "done":
        raise SystemExit(f"export failed: {job.error}")
    size_mb = Path(job.file_path).stat().st_size / 1e6
    Path(job.file_path).unlink()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_mb": _rss_mb(),
        "rss_before_mb": baseline,
        "zip_mb": size_mb,
        "rows": job.row_counts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="csv,redcap")
    parser.add_argument("--centers", type=int, default=6, help="generate_cohort's centres")
    parser.add_argument("--seed", type=int, default=7, help="generate_cohort's seed")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the cohort if it already has n patients"
    )
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    _setup()
    formats = [f for f in args.formats.split(",") if f]
    if args.measure:
        print(json.dumps(measure(formats)))
        return
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(
        f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"formats: {','.join(formats)}, chunk size {settings.EXPORT_CHUNK_SIZE}"
    )
    for n in [int(s) for s in args.sizes.split(",")]:
        started = time.perf_counter()
        from registry.models import AdverseEvent, Patient

        reused = args.reuse and Patient.objects.count() == n
        if reused:
            counts = {"patients": n, "adverse_events": AdverseEvent.objects.count()}
            _bench_pi()
        else:
            counts = generate(n, args.centers, args.seed)
        verb = "reused" if reused else "generated"
        print(
            f"\n{n} patients: {verb} {counts['patients']} patients, "
            f"{counts['adverse_events']} adverse events in "
            f"{time.perf_counter() - started:.0f} s"
        )
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run(
                [sys.executable, __file__, "--measure", "--formats", args.formats],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            run = runs[-1]
            print(
                f"  run: {run['seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU, "
                f"peak RSS {run['peak_rss_mb']:.0f} MB"
            )
        print(
            f"  median: {statistics.median(r['seconds'] for r in runs):.1f} s wall, "
            f"{statistics.median(r['cpu_seconds'] for r in runs):.1f} s CPU (export process; "
            f"PostgreSQL's own CPU not included), "
            f"peak RSS {statistics.median(r['peak_rss_mb'] for r in runs):.0f} MB "
            f"(after start-up {statistics.median(r['rss_before_mb'] for r in runs):.0f} MB), "
            f"ZIP {runs[0]['zip_mb']:.1f} MB, rows {json.dumps(runs[0]['rows'])}"
        )


if __name__ == "__main__":
    main()
