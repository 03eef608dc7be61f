"""Time and peak memory of one de-identified export at 10,000 and 100,000 patients.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_export_bench \
        .venv/bin/python benchmarks/export.py --sizes 10000,100000 --repeat 3

For each size the script empties the database, bulk-creates a synthetic locked cohort
(every CRF part, two assessments, one follow-up, ~4 adverse events per patient), then
runs the export in a fresh process per repeat, so the peak resident memory it reports
is the export's, not the generator's. Prints medians.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


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


def generate(n: int, seed: int = 7) -> dict:
    """Bulk-create n locked casebooks (no history rows: this measures the export, not entry)."""
    from django.db import connection

    from registry.models import (
        AdverseEvent,
        Baseline,
        Center,
        FirstLineTherapy,
        FollowUp,
        Patient,
        SecondLineTherapy,
        SectionCompletion,
        TumourAssessment,
        User,
    )

    rng = random.Random(seed)
    tables = [
        m._meta.db_table
        for m in (
            AdverseEvent,
            Baseline,
            FirstLineTherapy,
            FollowUp,
            SecondLineTherapy,
            TumourAssessment,
            SectionCompletion,
        )
    ]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"TRUNCATE {', '.join(tables)}, registry_exportjob, "
                "registry_pseudonymkey, registry_auditevent, registry_patient CASCADE"
            )
        else:
            for model in (
                AdverseEvent,
                Baseline,
                FirstLineTherapy,
                FollowUp,
                SecondLineTherapy,
                TumourAssessment,
                SectionCompletion,
            ):
                model.objects.all()._raw_delete(model.objects.db)
            Patient.objects.all()._raw_delete(Patient.objects.db)
    centers = [
        Center.objects.get_or_create(code=code, defaults={"name": f"Hospital {code}"})[0]
        for code in ("BJ", "SH", "GZ", "CD", "WH", "XA")
    ]
    pi, _ = User.objects.get_or_create(username="bench_pi", defaults={"role": "pi"})
    batch = 5000
    terms = [
        "Cough",
        "Fatigue",
        "Anemia",
        "Nausea",
        "Pneumonitis",
        "Hypothyroidism",
        "Rash maculo-papular",
    ]  # noqa: E501
    counts = {"patients": 0, "adverse_events": 0}
    for start in range(0, n, batch):
        size = min(batch, n - start)
        patients = []
        for i in range(start, start + size):
            center = centers[i % len(centers)]
            seq = i // len(centers) + 1
            reg = date(2019, 1, 1) + timedelta(days=rng.randrange(1000))
            patients.append(
                Patient(
                    center=center,
                    sequence=seq,
                    study_id=f"{center.code}-{seq:05d}",
                    mrn=f"M{i:08d}",
                    initials="AB",
                    date_of_birth=reg - timedelta(days=rng.randrange(40 * 365, 85 * 365)),
                    sex=rng.choice("MF"),
                    registration_date=reg,
                    inc_confirmed_sclc=True,
                    inc_extensive_stage=True,
                    inc_progressed_on_atezolizumab=True,
                    exc_severe_systemic_disease=False,
                    exc_autoimmune_disease=False,
                    exc_incomplete_information=False,
                    enrolment_status="enrolled",
                    # Locked only after the CRF rows exist: the PostgreSQL guard (data branch)
                    # refuses rows added to a locked casebook.
                    casebook_status="in_progress",
                )
            )
        patients = Patient.objects.bulk_create(patients)
        base, first, second, assess, aes, fus, done = [], [], [], [], [], [], []
        for p in patients:
            l2 = p.registration_date - timedelta(days=1)
            l1 = l2 - timedelta(days=rng.randrange(120, 500))
            base.append(
                Baseline(
                    patient=p,
                    smoking="former",
                    pack_years=30,
                    height_cm=170,
                    weight_kg=rng.randrange(45, 95),
                    ecog=rng.randrange(0, 3),
                    diagnosis_date=l1 - timedelta(days=10),
                    diagnosis_confirmation="histological",
                    extensive_stage_basis="distant_metastasis",
                    mets_brain=rng.random() < 0.3,
                    mets_liver=rng.random() < 0.3,
                    mets_bone=True,
                    mets_adrenal=False,
                    mets_other=False,
                )
            )
            first.append(
                FirstLineTherapy(
                    patient=p,
                    platinum_agent="carboplatin",
                    etoposide=True,
                    start_date=l1,
                    cycles=4,
                    thoracic_rt=False,
                    best_response="PR",
                    progression_date=l2 - timedelta(days=14),
                )
            )
            prog = l2 + timedelta(days=rng.randrange(30, 400))
            second.append(
                SecondLineTherapy(
                    patient=p,
                    start_date=l2,
                    chemotherapy_agent="none",
                    antiangiogenic_agent="anlotinib",
                    radiotherapy_site="none",
                    cycles=6,
                    end_date=prog,
                    end_reason="progression",
                    progression_date=prog,
                )
            )
            assess.append(
                TumourAssessment(
                    patient=p,
                    assessment_date=l1 - timedelta(days=5),
                    line="1L",
                    target_sum_mm=100,
                    new_lesions=False,
                    overall_response="NE",
                )
            )
            assess.append(
                TumourAssessment(
                    patient=p,
                    assessment_date=l1 + timedelta(days=60),
                    line="1L",
                    target_sum_mm=rng.randrange(20, 110),
                    new_lesions=False,
                    overall_response="PR",
                )
            )
            for _ in range(rng.randrange(0, 9)):
                onset = l2 + timedelta(days=rng.randrange(1, 300))
                aes.append(
                    AdverseEvent(
                        patient=p,
                        term=rng.choice(terms),
                        grade=rng.randrange(1, 4),
                        onset_date=onset,
                        serious=False,
                        immune_related=False,
                        attribution="possible",
                        action_taken="none",
                        outcome="recovered",
                    )
                )
            dead = rng.random() < 0.6
            contact = prog + timedelta(days=rng.randrange(1, 300))
            fus.append(
                FollowUp(
                    patient=p,
                    contact_date=contact,
                    vital_status="dead" if dead else "alive",
                    death_date=contact if dead else None,
                    death_cause="progression" if dead else "",
                    progression_status="progressed",
                )
            )
            now = date(2024, 1, 1)
            done += [
                SectionCompletion(
                    patient=p, section=s, completed_at=f"{now}T00:00Z", completed_by=pi
                )
                for s in (
                    "registration",
                    "baseline",
                    "first_line",
                    "assessments",
                    "second_line",
                    "adverse_events",
                    "follow_up",
                )
            ]
        for model, objs in (
            (Baseline, base),
            (FirstLineTherapy, first),
            (SecondLineTherapy, second),
            (TumourAssessment, assess),
            (AdverseEvent, aes),
            (FollowUp, fus),
            (SectionCompletion, done),
        ):
            model.objects.bulk_create(objs, batch_size=5000)
        Patient.objects.filter(pk__in=[p.pk for p in patients]).update(casebook_status="locked")
        counts["patients"] += len(patients)
        counts["adverse_events"] += len(aes)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return counts


def measure(formats: list[str]) -> dict:
    """One export as the benchmark PI, in this (fresh) process."""
    from registry.exports import services
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
        else:
            counts = generate(n)
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
