"""Lock → new numbers → dashboard, at scale. Prints figures; asserts nothing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench \
        .venv/bin/python benchmarks/lock_to_dashboard.py --patients 100000

Creates its own throw-away database (test_<name> or --throwaway-name, dropped at the end
unless --keep; --reuse takes up a kept one without generating the cohort again), fills it
with N locked synthetic casebooks over 6 centres with ``manage.py generate_cohort --lock
--seed S`` (bulk inserts of validated casebooks: the services would take hours for 100,000
and are not what is measured), then times, with tasks run in-process as a worker would run them:
  * one real lock through ``registry.services.casebook_lock`` → the analysis run it queues
    (split into table building, engine, storing; from the run's own timings);
  * the dashboard's server response for that bundle (first, then the median of warm ones)
    and its size;
  * each figure the page references by <img>: the first request (drawn on the server and
    written to its file), a second one (from the file), a conditional one holding its ETag
    (304 expected);
  * ``manage.py analyze --out FILE`` in database mode, the whole command in a new process
    (start-up, reading the stored analysis rows, the engine, writing the bundle).
Medians of --repeat lock→run measurements (each lock adds a patient, so nothing is reused).
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production settings refuse to start without a key; a benchmark has no secrets to keep.
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
os.environ.setdefault("EXPORT_PSEUDONYM_KEY", "benchmark-only-export-pseudonym-not-a-secret")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "1"
# Figures drawn by an earlier benchmark (--reuse) must not make the first requests look free.
os.environ["ANALYTICS_FIGURE_ROOT"] = tempfile.mkdtemp(prefix="lock-to-dashboard-figures-")
# The PI's page is what is timed, not the sign-in: no second factor for the forced login.
os.environ.setdefault("REQUIRE_2FA", "0")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

CENTRES = 6


def synthetic(n: int, seed: int) -> None:
    """n locked synthetic casebooks by ``manage.py generate_cohort --lock`` (no history rows:
    the analysis and the dashboard do not read them)."""
    from django.core.management import call_command

    call_command(
        "generate_cohort", patients=n, centers=CENTRES, seed=seed, lock=True, no_history=True
    )


def analyze_command_seconds(repeat: int) -> list[float]:
    """Wall time of ``manage.py analyze --out`` on this (throw-away) database, as an operator
    runs it: a new process each time."""
    settings = connection.settings_dict
    auth = settings["USER"] + (f":{settings['PASSWORD']}" if settings.get("PASSWORD") else "")
    url = (
        f"postgres://{auth}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/"
        f"{settings['NAME']}"
    )
    env = {**os.environ, "DATABASE_URL": url}
    seconds = []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(
                [sys.executable, "manage.py", "analyze", "--out", f"{folder}/bundle.json"],
                cwd=ROOT,
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            seconds.append(time.perf_counter() - started)
    return seconds


def _get(client: Client, url: str, **headers) -> tuple[float, int, bytes, str]:
    started = time.perf_counter()
    response = client.get(url, secure=True, **headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return time.perf_counter() - started, response.status_code, body, response.get("ETag", "")


def figure_requests(client: Client, page: str) -> None:
    """Each figure the page references: its first request (drawn, then written to its file),
    a second one (served from the file), and a conditional one holding its ETag (304)."""
    urls = re.findall(r'<img src="([^"]+\.svg)"', page)
    drawn, from_file, conditional, statuses, sizes = [], [], [], [], []
    for url in urls:
        seconds, status, body, etag = _get(client, url)
        assert status == 200 and body.startswith(b"<svg"), (url, status)
        drawn.append(seconds)
        sizes.append(len(body))
        from_file.append(_get(client, url)[0])
        seconds, status, body, _ = _get(client, url, HTTP_IF_NONE_MATCH=etag)
        conditional.append(seconds)
        statuses.append(status)
    if not urls:
        print("figures: none referenced by the page")
        return
    print(
        f"figures: {len(urls)} referenced, {sum(sizes) / 1024:.0f} KiB in all "
        f"(largest {max(sizes) / 1024:.0f} KiB)"
    )
    median_drawn = statistics.median(drawn) * 1000
    print(
        f"  first request (drawn, written to its file): median {median_drawn:.0f} ms, "
        f"all {sum(drawn) * 1000:.0f} ms"
    )
    print(f"  again, from the file: median {statistics.median(from_file) * 1000:.1f} ms")
    print(
        f"  conditional GET with the ETag: statuses {sorted(set(statuses))}, "
        f"median {statistics.median(conditional) * 1000:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42, help="generate_cohort's seed")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--page-repeat", type=int, default=9, help="warm dashboard requests")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark database")
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="reuse a database kept by --keep when it holds at least --patients patients "
        "(migrated, not regenerated); implies --keep",
    )
    parser.add_argument(
        "--throwaway-name", help="name of the throw-away database (default test_<name>)"
    )
    args = parser.parse_args()

    if args.throwaway_name:
        connection.settings_dict["TEST"]["NAME"] = args.throwaway_name
    # No serialized copy of the database (a test-runner feature): with --reuse it would dump
    # the whole 100,000-patient cohort to JSON first.
    old = setup_databases(
        verbosity=0, interactive=False, keepdb=args.reuse, serialized_aliases=set()
    )
    try:
        from analytics.models import AnalysisRun
        from analytics.services import plan_seed_demo
        from core.roles import Role
        from registry.models import Center, Patient
        from tests import builders
        from tests.builders import build_casebook, lock_casebook
        from tests.factories import TEST_PASSWORD, UserFactory

        print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")
        existing = Patient.objects.count() if args.reuse else 0
        if existing >= args.patients:
            print(f"synthetic load: reused {existing} patients")
        else:
            t = time.perf_counter()
            synthetic(args.patients, args.seed)
            print(f"synthetic load: {time.perf_counter() - t:.1f} s")
        center = Center.objects.first()
        coordinator = UserFactory(username="bench_c", role=Role.COORDINATOR, center=center)
        investigator = UserFactory(username="bench_i", role=Role.INVESTIGATOR, center=center)
        pi = UserFactory(username="bench_pi", role=Role.PI, center=None)
        t = time.perf_counter()
        plan_seed_demo()  # the first run on all the data
        print(f"first run (plan seeded): {time.perf_counter() - t:.2f} s")

        # MRNs of their own: a reused database holds those of earlier benchmark runs, and the
        # builders count from 1 in each process.
        builders._mrn = itertools.count(int(time.time()) * 10)
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
        for _ in range(1 + args.page_repeat):
            t = time.perf_counter()
            response = client.get("/analytics/", secure=True)  # production: HTTPS only
            times.append(time.perf_counter() - t)
            assert response.status_code == 200
        page = response.content
        print(
            f"dashboard page: first {times[0] * 1000:.0f} ms, warm median of {args.page_repeat} "
            f"{statistics.median(times[1:]) * 1000:.0f} ms, {len(page) / 1024:.0f} KiB "
            f"({len(page)} bytes)"
        )
        figure_requests(client, page.decode())
        seconds = analyze_command_seconds(args.repeat)
        print(
            f"manage.py analyze (database mode, whole command), median of {args.repeat}: "
            f"{statistics.median(seconds):.2f} s ({', '.join(f'{x:.2f}' for x in seconds)})"
        )
    finally:
        if not (args.keep or args.reuse):
            teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    main()
