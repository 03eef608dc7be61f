"""REST API latency and throughput against gunicorn on PostgreSQL with a large cohort.

    .venv/bin/python benchmarks/api.py [--patients 100000] [--seed 42] [--port 8200] [--workers 4]

1. Migrates the benchmark database (default registry_api_bench; it is created if missing).
2. Fills it with synthetic casebooks over 10 centres with ``manage.py generate_cohort``
   (validated, all parts entered, left in progress; no history rows), unless it already
   holds enough; a smaller cohort is topped up.
3. Starts gunicorn (the production WSGI server) and measures, at 1 and at 20 concurrent
   clients: a page of the patient list (a coordinator's own centre, 50 rows), a whole
   casebook read, and adverse-event creation. Prints median and p95 latency and requests/s.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CENTRES = 10


def first_centre_code() -> str:
    """The benchmark coordinator's centre: generate_cohort's first synthetic centre (SAA)."""
    from registry.synthetic import centre_code

    return centre_code(0)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42, help="generate_cohort's seed")
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/registry_api_bench"
    )
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--requests", type=int, default=400, help="per scenario and level")
    parser.add_argument("--concurrency", default="1,20")
    return parser.parse_args()


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Production settings refuse to start without a key; a benchmark has no secrets to keep.
    os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
    os.environ.setdefault("EXPORT_PSEUDONYM_KEY", "benchmark-only-export-pseudonym-not-a-secret")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def generate(count: int, centres: int, seed: int) -> None:
    """Top the synthetic centres up to ``count`` patients with ``manage.py generate_cohort``.

    Casebooks stay in progress (no ``--lock``): the benchmark adds adverse events to them.
    No history rows: what is measured does not read them.
    """
    from django.core.management import call_command

    from registry.models import Patient
    from registry.synthetic import centre_code

    codes = [centre_code(i) for i in range(centres)]
    existing = Patient.objects.filter(center__code__in=codes).count()
    if existing >= count:
        print(f"cohort: {existing} patients present, no generation")
        return
    # generate_cohort continues each centre's sequence, so a smaller cohort is topped up.
    # The seed is offset by what exists so a top-up draws new patients, not the same ones.
    call_command(
        "generate_cohort",
        patients=count - existing,
        centers=centres,
        seed=seed + existing,
        no_history=True,
    )


def tokens() -> dict[str, str]:
    from core.api.tokens import token_create
    from core.roles import Role
    from registry.models import Center, User

    coordinator, _ = User.objects.get_or_create(
        username="bench-coordinator",
        defaults={"role": Role.COORDINATOR, "center": Center.objects.get(code=first_centre_code())},
    )
    manager, _ = User.objects.get_or_create(
        username="bench-data-manager", defaults={"role": Role.DATA_MANAGER, "center": None}
    )
    return {
        "coordinator": token_create(user=coordinator, name="benchmark", days=1)[1],
        "data_manager": token_create(user=manager, name="benchmark", days=1)[1],
    }


def study_ids(sample: int) -> list[str]:
    from registry.models import Patient

    # Patients without a recorded death: the adverse events created 30 days after the 2L
    # start must not fall after a death date (the services would refuse them).
    ids = list(
        Patient.objects.filter(center__code=first_centre_code())
        .exclude(follow_ups__death_date__isnull=False)
        .values_list("study_id", flat=True)
        .distinct()
    )
    return random.Random(7).sample(ids, min(sample, len(ids)))


def start_server(args) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "DEBUG": "0",
        "DB_CONN_MAX_AGE": "60",
        "LOG_LEVEL": "WARNING",
        # The benchmark measures the API, not the throttle's refusals.
        "API_THROTTLE_USER": "none",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "config.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{args.port}"
    for _ in range(150):
        try:
            requests.get(base + "/api/v1/me/", timeout=5)
            return server
        except requests.RequestException:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def measure(name, call, concurrency: int, total: int) -> dict:
    sessions = threading.local()
    latencies: list[float] = []
    lock = threading.Lock()
    counter = itertools.count()

    def one(_):
        session = getattr(sessions, "s", None)
        if session is None:
            session = sessions.s = requests.Session()
        n = next(counter)
        t0 = time.perf_counter()
        response = call(session, n)
        elapsed = time.perf_counter() - t0
        if response.status_code >= 300:
            raise SystemExit(f"{name}: HTTP {response.status_code} {response.text[:300]}")
        with lock:
            latencies.append(elapsed)

    with ThreadPoolExecutor(concurrency) as pool:  # warm-up: connections, caches
        list(pool.map(one, range(concurrency * 3)))
    latencies.clear()
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(total)))
    wall = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "scenario": name,
        "clients": concurrency,
        "n": len(ordered),
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "rps": len(ordered) / wall,
    }


def main() -> None:
    args = parse_args()
    ensure_database(args.database_url)
    setup_django(args.database_url)
    generate(args.patients, CENTRES, args.seed)
    from django.db import connection

    from registry.models import Patient

    # Fresh planner statistics: right after a bulk load PostgreSQL still estimates an empty
    # table and picks plans (sort everything, then limit) that no running registry would get.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    total_patients = Patient.objects.count()
    secrets = tokens()
    ids = study_ids(2000)
    base = f"http://127.0.0.1:{args.port}/api/v1"
    coordinator = {"Authorization": f"Bearer {secrets['coordinator']}"}

    def list_page(session, n):
        return session.get(f"{base}/patients/", headers=coordinator)

    def casebook(session, n):
        return session.get(f"{base}/patients/{ids[n % len(ids)]}/", headers=coordinator)

    def ae_create(session, n):
        body = {
            "term": "Fatigue",
            "grade": 1 + n % 3,
            "onset_date": None,
            "serious": False,
            "immune_related": False,
            "attribution": "possible",
            "action_taken": "none",
            "outcome": "recovering",
        }
        study_id = ids[n % len(ids)]
        body["onset_date"] = onset[study_id]
        return session.post(
            f"{base}/patients/{study_id}/adverse-events/", json=body, headers=coordinator
        )

    from registry.models import SecondLineTherapy

    onset = {
        sid: (start + timedelta(days=30)).isoformat()
        for sid, start in SecondLineTherapy.objects.filter(patient__study_id__in=ids).values_list(
            "patient__study_id", "start_date"
        )
    }
    server = start_server(args)
    results = []
    try:
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            for name, call in (
                ("patient list page (50 rows)", list_page),
                ("casebook read", casebook),
                ("adverse event create", ae_create),
            ):
                results.append(measure(name, call, concurrency, args.requests))
                r = results[-1]
                print(
                    f"{r['scenario']:<28} clients={r['clients']:>2}  n={r['n']:>4}  "
                    f"median={r['median_ms']:7.1f} ms  p95={r['p95_ms']:7.1f} ms  "
                    f"{r['rps']:7.1f} req/s",
                    flush=True,
                )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    print(
        f"\n{total_patients} patients on PostgreSQL; gunicorn {args.workers} sync workers; "
        f"{os.cpu_count()} cores shared by server, database and client."
    )
    print("| scenario | clients | median ms | p95 ms | req/s |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r['scenario']} | {r['clients']} | {r['median_ms']:.1f} | {r['p95_ms']:.1f} "
            f"| {r['rps']:.0f} |"
        )


if __name__ == "__main__":
    main()
