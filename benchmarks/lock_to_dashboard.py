"""Lock → new numbers → dashboard, at scale. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench \
        .venv/bin/python benchmarks/lock_to_dashboard.py --patients 100000

Creates its own throw-away database (test_<name>, dropped at the end unless --keep), fills it
with N synthetic locked casebooks by bulk insert (synthetic load only: the registry services
would take hours for 100,000 casebooks and are not what is measured), then times, with tasks
run in-process as a worker would run them:
  * one real lock through ``registry.services.casebook_lock`` → the analysis run it queues
    (split into table building, engine, storing; from the run's own timings);
  * the dashboard's server response for that bundle (first, uncached figures; then warm).
Medians of --repeat lock→run measurements (each lock adds a patient, so nothing is reused).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

BATCH = 5000


def synthetic(n: int, rng) -> None:
    from registry.models import (
        AdverseEvent,
        Baseline,
        Center,
        FirstLineTherapy,
        FollowUp,
        Patient,
        SecondLineTherapy,
        TumourAssessment,
    )

    centers = [Center.objects.create(code=f"S{chr(65 + i)}", name=f"Site {i}") for i in range(6)]
    start = date(2021, 1, 1)
    for first in range(0, n, BATCH):
        size = min(BATCH, n - first)
        patients = []
        for i in range(first, first + size):
            center = centers[i % 6]
            patients.append(
                Patient(
                    center=center,
                    sequence=i + 1,
                    study_id=f"{center.code}-{i + 1:06d}",
                    mrn=f"B{i:07d}",
                    initials="XX",
                    date_of_birth=date(1950, 1, 1) + timedelta(days=rng.randint(0, 9000)),
                    sex=rng.choice("MMMF"),
                    registration_date=start,
                    inc_confirmed_sclc=True,
                    inc_extensive_stage=True,
                    inc_progressed_on_atezolizumab=True,
                    exc_severe_systemic_disease=False,
                    exc_autoimmune_disease=False,
                    exc_incomplete_information=False,
                    enrolment_status="enrolled",
                    casebook_status="locked",
                )
            )
        patients = Patient.objects.bulk_create(patients)
        base, l1, l2, asm, aes, fus = [], [], [], [], [], []
        for p in patients:
            s2 = start + timedelta(days=rng.randint(0, 400))
            l1s = s2 - timedelta(days=rng.randint(60, 500))
            os_days = rng.randint(20, 900)
            dead = rng.random() < 0.55
            prog = s2 + timedelta(days=rng.randint(10, max(11, os_days)))
            base.append(
                Baseline(
                    patient=p,
                    smoking=rng.choice(["never", "former", "current"]),
                    pack_years=None,
                    height_cm=170,
                    weight_kg=rng.randint(45, 95),
                    ecog=rng.choice([0, 1, 1, 2]),
                    diagnosis_date=l1s - timedelta(days=20),
                    diagnosis_confirmation="histological",
                    extensive_stage_basis="distant_metastasis",
                    mets_brain=rng.random() < 0.5,
                    mets_liver=rng.random() < 0.35,
                    mets_bone=False,
                    mets_adrenal=False,
                    mets_other=False,
                )
            )
            l1.append(
                FirstLineTherapy(
                    patient=p,
                    platinum_agent="carboplatin",
                    etoposide=True,
                    start_date=l1s,
                    cycles=4,
                    thoracic_rt=False,
                    best_response="PR",
                    progression_date=s2 - timedelta(days=7),
                )
            )
            l2.append(
                SecondLineTherapy(
                    patient=p,
                    start_date=s2,
                    chemotherapy_agent="none",
                    antiangiogenic_agent=rng.choice(["none", "anlotinib"]),
                    radiotherapy_site=rng.choice(["none", "none", "primary_thoracic"]),
                    cycles=4,
                    end_date=prog,
                    end_reason="progression",
                    progression_date=prog,
                )
            )
            asm.append(
                TumourAssessment(
                    patient=p,
                    assessment_date=l1s - timedelta(days=3),
                    line="1L",
                    target_sum_mm=100,
                    new_lesions=False,
                    overall_response="NE",
                )
            )
            asm.append(
                TumourAssessment(
                    patient=p,
                    assessment_date=l1s + timedelta(days=45),
                    line="1L",
                    target_sum_mm=rng.randint(30, 110),
                    new_lesions=False,
                    overall_response="PR",
                )
            )
            aes.append(
                AdverseEvent(
                    patient=p,
                    term=rng.choice(["Cough", "Nausea", "Pneumonitis", "Fatigue"]),
                    grade=rng.choice([1, 1, 2, 3]),
                    onset_date=s2 + timedelta(days=10),
                    serious=False,
                    immune_related=False,
                    attribution="possible",
                    action_taken="none",
                    outcome="recovered",
                )
            )
            end = s2 + timedelta(days=os_days)
            fus.append(
                FollowUp(
                    patient=p,
                    contact_date=end,
                    vital_status="dead" if dead else "alive",
                    death_date=end if dead else None,
                    death_cause="progression" if dead else "",
                    progression_status="progressed",
                )
            )
        for model, rows in (
            (Baseline, base),
            (FirstLineTherapy, l1),
            (SecondLineTherapy, l2),
            (TumourAssessment, asm),
            (AdverseEvent, aes),
            (FollowUp, fus),
        ):
            model.objects.bulk_create(rows)
        print(f"  {first + size} synthetic casebooks", end="\r", flush=True)
    print()


def main() -> None:
    import random

    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = parser.parse_args()

    old = setup_databases(verbosity=0, interactive=False, keepdb=False)
    try:
        from analytics.models import AnalysisRun
        from analytics.services import plan_seed_demo
        from registry.models import Center
        from tests.builders import build_casebook, lock_casebook
        from tests.factories import TEST_PASSWORD, UserFactory

        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        rng = random.Random(42)
        t = time.perf_counter()
        synthetic(args.patients, rng)
        print(f"synthetic load: {time.perf_counter() - t:.1f} s")
        center = Center.objects.first()
        coordinator = UserFactory(username="bench_c", role="coordinator", center=center)
        investigator = UserFactory(username="bench_i", role="investigator", center=center)
        pi = UserFactory(username="bench_pi", role="pi", center=None)
        t = time.perf_counter()
        plan_seed_demo()  # the first run on all the data
        print(f"first run (plan seeded): {time.perf_counter() - t:.2f} s")

        totals, splits = [], []
        for _ in range(args.repeat):
            patient = build_casebook(coordinator, complete=True)
            t = time.perf_counter()
            lock_casebook(patient, investigator, TEST_PASSWORD)  # commit → run, in-process
            totals.append(time.perf_counter() - t)
            run = AnalysisRun.objects.order_by("-pk").first()
            assert run.status == "done", run.error
            splits.append(run.timings)
        print(
            f"lock → finished bundle, median of {args.repeat}: {statistics.median(totals):.2f} s "
            f"(n analysed {run.n_analysed})"
        )
        for step in ("tables", "engine", "store"):
            print(f"  {step:7s} median {statistics.median(s[step] for s in splits):.2f} s")

        client = Client()
        client.force_login(pi)
        times = []
        for _ in range(6):
            t = time.perf_counter()
            response = client.get("/analytics/")
            times.append(time.perf_counter() - t)
            assert response.status_code == 200
        print(
            f"dashboard response: first (renders figures) {times[0] * 1000:.0f} ms, "
            f"warm median {statistics.median(times[1:]) * 1000:.0f} ms, "
            f"{len(response.content) // 1024} KiB"
        )
    finally:
        if not args.keep:
            teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
