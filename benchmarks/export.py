"""Time and peak memory of one de-identified export at 10,000 and 100,000 patients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_export_bench \
        .venv/bin/python benchmarks/export.py --sizes 10000,100000 --repeat 3 [--seed 7]

For each size the script empties the registry tables and generates a locked synthetic
cohort with ``manage.py generate_cohort --lock`` (--centers, --seed; --reuse keeps a
cohort that already has n patients; --existing measures whatever cohort the database
holds and never touches it, e.g. the 1,000,000 of ``registry_bench_big``), then runs the
export in a fresh process per repeat, so the peak resident memory it reports is the
export's, not the generator's. CPU is the export process's and its forked row writers'
(EXPORT_PROCESSES); memory is also summed over them. Prints medians, load averages and the
writer's phase timings.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import threading
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


class _MemorySampler:
    """Memory of this process and the children it forks (the export's row writers), sampled
    every ``every`` seconds in a thread: the peak of the sum of their PSS (each page shared
    after a fork counted once, split between its sharers: the memory the export really
    takes) and the sum of each process's own peak RSS (VmHWM; shared pages counted in every
    process that maps them, so an upper bound)."""

    def __init__(self, every: float = 0.25) -> None:
        self.every = every
        self.peak_pss_sum_mb = 0.0
        self.hwm_mb: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> _MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def hwm_sum_mb(self) -> float:
        return sum(self.hwm_mb.values())

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self._sample()

    def _sample(self) -> None:
        pids = [os.getpid(), *_children(os.getpid())]
        pss = 0.0
        for pid in pids:
            fields = _proc_fields(pid)
            if fields is None:
                continue  # exited between the listing and the read
            pss += fields.get("Pss", 0) / 1024
            self.hwm_mb[pid] = max(self.hwm_mb.get(pid, 0.0), fields.get("VmHWM", 0) / 1024)
        self.peak_pss_sum_mb = max(self.peak_pss_sum_mb, pss)


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(child) for child in fh.read().split()]
    except OSError:
        return []


def _proc_fields(pid: int) -> dict[str, int] | None:
    """kB figures of /proc/<pid>/status (VmHWM) and smaps_rollup (Pss)."""
    fields: dict[str, int] = {}
    try:
        for name in ("status", "smaps_rollup"):
            with open(f"/proc/{pid}/{name}") as fh:
                for line in fh:
                    key, _, rest = line.partition(":")
                    parts = rest.split()
                    if len(parts) == 2 and parts[1] == "kB":
                        fields.setdefault(key, int(parts[0]))
    except OSError:
        return None
    return fields


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


class _PhaseLog(logging.Handler):
    """The writer's log lines (phases and their durations), kept for the report."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _cpu_seconds() -> float:
    """CPU of this process and of its children once reaped (the forked row writers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(formats: list[str]) -> dict:
    """One export as the benchmark PI, in this (fresh) process."""
    from exchange import services
    from registry.models import User

    baseline = _rss_mb()
    phases = _PhaseLog()
    logging.getLogger("exchange.writer").addHandler(phases)
    user = User.objects.get(username="bench_pi")
    cpu_before = _cpu_seconds()
    load_before = os.getloadavg()
    started = time.perf_counter()
    with _MemorySampler() as memory:
        job = services.export_request(user=user, formats=formats, enqueue=False)
        job = services.export_run(job_id=job.pk)
    seconds = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu_before
    if job.status != "done":
        raise SystemExit(f"export failed: {job.error}")
    size_mb = Path(job.file_path).stat().st_size / 1e6
    Path(job.file_path).unlink()
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_mb": _rss_mb(),
        "processes": len(memory.hwm_mb),
        "hwm_sum_mb": memory.hwm_sum_mb,
        "peak_pss_sum_mb": memory.peak_pss_sum_mb,
        "rss_before_mb": baseline,
        "zip_mb": size_mb,
        "rows": job.row_counts,
        "load": [load_before, os.getloadavg()],
        "phases": phases.lines,
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
    parser.add_argument(
        "--existing",
        action="store_true",
        help="measure the cohort the database has (--sizes ignored): never migrates, empties "
        "or generates, so another benchmark's cohort is safe",
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

    from registry.models import AdverseEvent, Patient

    if not args.existing:
        call_command("migrate", verbosity=0)
    print(
        f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} "
        f"{settings.DATABASES['default']['NAME']}, formats: {','.join(formats)}, "
        f"chunk size {settings.EXPORT_CHUNK_SIZE}, "
        # Before the row writers, the setting did not exist: one process.
        f"processes {getattr(settings, 'EXPORT_PROCESSES', 1)}"
    )
    sizes = [Patient.objects.count()] if args.existing else [int(s) for s in args.sizes.split(",")]
    for n in sizes:
        started = time.perf_counter()
        reused = args.existing or (args.reuse and Patient.objects.count() == n)
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
            load = " → ".join(f"{before[0]:.1f}" for before in run["load"])
            print(
                f"  run: {run['seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU "
                f"({run['processes']} process(es)), peak RSS {run['peak_rss_mb']:.0f} MB, "
                f"sum of peak RSS {run['hwm_sum_mb']:.0f} MB, "
                f"peak sum of PSS {run['peak_pss_sum_mb']:.0f} MB, load {load}"
            )
            for line in run["phases"]:
                print(f"    {line}")
        print(
            f"  median: {statistics.median(r['seconds'] for r in runs):.1f} s wall, "
            f"{statistics.median(r['cpu_seconds'] for r in runs):.1f} s CPU (export processes; "
            f"PostgreSQL's own CPU not included), "
            f"peak RSS {statistics.median(r['peak_rss_mb'] for r in runs):.0f} MB "
            f"(after start-up {statistics.median(r['rss_before_mb'] for r in runs):.0f} MB), "
            f"sum over processes: peak RSS "
            f"{statistics.median(r['hwm_sum_mb'] for r in runs):.0f} MB, "
            f"PSS {statistics.median(r['peak_pss_sum_mb'] for r in runs):.0f} MB, "
            f"ZIP {runs[0]['zip_mb']:.1f} MB, rows {json.dumps(runs[0]['rows'])}"
        )


if __name__ == "__main__":
    main()
