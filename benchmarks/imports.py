"""Time and peak memory of importing N patients from the registry's XLSX template.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_imports_bench \
        .venv/bin/python benchmarks/imports.py --patients 10000 [--centers 6] [--seed 7]

The file: ``manage.py generate_cohort`` writes N synthetic casebooks (in progress), the
template is written pre-filled with them (``exchange.imports.template``), then the
registry's patients are emptied (TRUNCATE on PostgreSQL) so the file brings N new patients
into an empty registry: the heaviest case (every record created). Then, each in a fresh
process so its peak resident memory is its own:

- preview: read the file (openpyxl read-only), check every row (the models' validation and
  the cross-part rules, in chunks of 500 patients), store the preview;
- commit: plan again and write every patient through the registry services, one
  transaction (``exchange.imports.services.commit_job``).
- re-import preview: the same file again, now that every patient exists (each compared
  with its stored casebook: all unchanged, nothing to write).

Targets (issue 11): preview < 60 s, commit < 120 s, peak < 500 MB at 10,000 patients.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
os.environ.setdefault("EXPORT_PSEUDONYM_KEY", "benchmark-only-export-pseudonym-not-a-secret")
# One transaction for the whole commit; the after-commit data-quality checks of each saved
# casebook are the quality app's work, not the import's, and run in a worker.
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "0")


def _setup():
    import django

    django.setup()


def _rss_mb() -> float:
    """Peak resident memory of this process (VmHWM: not inherited across fork+exec)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _empty_registry() -> None:
    from django.db import connection

    from registry.models import Patient

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "TRUNCATE exchange_importjob, registry_auditevent, registry_patient CASCADE"
            )
            for model in ("patient", "baseline", "firstlinetherapy", "secondlinetherapy"):
                cursor.execute(f"TRUNCATE registry_historical{model}")
            for model in ("tumourassessment", "adverseevent", "followup"):
                cursor.execute(f"TRUNCATE registry_historical{model}")
        else:
            for relation in Patient._meta.related_objects:
                related = relation.related_model
                related.objects.all()._raw_delete(related.objects.db)
            Patient.objects.all()._raw_delete(Patient.objects.db)


def make_file(n: int, centres: int, seed: int, out: Path) -> dict:
    from django.core.management import call_command

    from core.roles import Role
    from exchange.imports.template import write_template
    from registry.models import AdverseEvent, FollowUp, Patient, TumourAssessment, User

    _empty_registry()
    User.objects.get_or_create(
        username="bench_importer", defaults={"role": Role.DATA_MANAGER, "center": None}
    )
    call_command(
        "generate_cohort",
        patients=n,
        centers=centres,
        seed=seed,
        no_history=True,
        stdout=io.StringIO(),
    )
    counts = {
        "patients": Patient.objects.count(),
        "assessments": TumourAssessment.objects.count(),
        "adverse_events": AdverseEvent.objects.count(),
        "follow_ups": FollowUp.objects.count(),
    }
    started = time.perf_counter()
    write_template(out, Patient.objects.all())
    counts["template_seconds"] = time.perf_counter() - started
    _empty_registry()
    return counts


def measure(step: str, path: Path) -> dict:
    from django.db import connection

    from exchange.imports import services
    from exchange.models import ImportJob
    from registry.models import User

    user = User.objects.get(username="bench_importer")
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.perf_counter()
    if step in ("preview", "re-import preview"):
        with open(path, "rb") as handle:
            job = services.import_request(
                user=user, file=handle, file_name=path.name, enqueue=False
            )
        job = services.import_run(job_id=job.pk)
        result = {"status": job.status, "counts": job.counts, "error": job.error}
    else:
        job = ImportJob.objects.order_by("-pk").first()
        services.import_commit_request(user=user, job_id=job.pk, enqueue=False)
        job = services.import_run(job_id=job.pk)
        result = {"status": job.status, "error": job.error[:500]}
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    connection.close()
    return {
        **result,
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu_before,
        "peak_rss_mb": _rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=10_000)
    parser.add_argument("--centers", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--file", default="", help="where to keep the template (default: var/)")
    parser.add_argument(
        "--reuse-file", action="store_true", help="keep a template made by an earlier run"
    )
    parser.add_argument(
        "--measure", choices=["preview", "commit", "re-import preview"], help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    _setup()
    from django.conf import settings

    path = Path(args.file or settings.VAR_DIR / f"bench-import-{args.patients}.xlsx")
    if args.measure:
        print(json.dumps(measure(args.measure, path)))
        return
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    started = time.perf_counter()
    if args.reuse_file and path.exists():
        _empty_registry()
        counts = {"reused": True}
    else:
        counts = make_file(args.patients, args.centers, args.seed, path)
    print(
        f"database: {engine}; file {path.name}: {path.stat().st_size / 1e6:.1f} MB, "
        f"{json.dumps(counts)} (made in {time.perf_counter() - started:.0f} s)"
    )
    for step in ("preview", "commit", "re-import preview"):
        out = subprocess.run(
            [sys.executable, __file__, "--measure", step, "--file", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        run = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{step}: {run['seconds']:.1f} s wall, {run['cpu_seconds']:.1f} s CPU, "
            f"peak RSS {run['peak_rss_mb']:.0f} MB, status {run['status']}"
            + (f", counts {json.dumps(run['counts'])}" if "counts" in run else "")
            + (f", error {run['error']}" if run.get("error") else "")
        )


if __name__ == "__main__":
    main()
