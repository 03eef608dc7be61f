"""Chaos drill on the local machine: kill a worker mid-run, make the broker unreachable,
restart the database connections, and print how long each takes to recover.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_chaos \
    REDIS_URL=redis://127.0.0.1:6379/8 \
        .venv/bin/python benchmarks/chaos.py [--patients 30] [--max-seconds 600]

Local only: it refuses a database or broker that is not on 127.0.0.1/localhost, and it uses
a Redis database of its own (its queue is emptied). It creates a throw-away database
(test_<name>, dropped at the end), fills it with --patients locked synthetic casebooks,
and acts as the web process itself (the registry's services and its WSGI app in process),
with real Celery workers started here (and always stopped here). Production's recovery
settings are used unless --heartbeat-timeout / --sweep-interval are given.

1. worker killed: a worker whose engine is slowed claims a lock's run; it is killed -9 in
   the middle of the engine; a fresh worker (with beat) starts. Recovery: kill → run done.
2. broker unreachable: the web process publishes to a port where nothing listens. Printed:
   how long the lock took to answer; recovery: broker back → the waiting run done.
3. database connections restarted (pg_terminate_backend on every connection to the
   database): recovery to the first healthy /healthz, and to a new lock's run done.
Each wait is bounded; the whole drill stops after --max-seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")
os.environ.setdefault("EXPORT_PSEUDONYM_KEY", "benchmark-only-export-pseudonym-not-a-secret")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # this process publishes; workers compute

LOCAL = {"127.0.0.1", "localhost", "::1"}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--patients", type=int, default=30)
    parser.add_argument("--max-seconds", type=float, default=600)
    parser.add_argument("--heartbeat-timeout", type=int, help="WORK_HEARTBEAT_TIMEOUT for all")
    parser.add_argument("--sweep-interval", type=int, help="WORK_SWEEP_INTERVAL for all")
    args = parser.parse_args()
    if args.heartbeat_timeout:
        os.environ["WORK_HEARTBEAT_TIMEOUT"] = str(args.heartbeat_timeout)
    if args.sweep_interval:
        os.environ["WORK_SWEEP_INTERVAL"] = str(args.sweep_interval)
    return args


ARGS = parse_args()

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_databases, teardown_databases  # noqa: E402

from config.celery import app  # noqa: E402

DEADLINE = time.monotonic() + ARGS.max_seconds


def require_local() -> None:
    db_host = connection.settings_dict.get("HOST") or "127.0.0.1"
    broker = urlparse(app.conf.broker_url)
    if connection.vendor != "postgresql" or db_host not in LOCAL:
        sys.exit("chaos.py: needs a local PostgreSQL (DATABASE_URL on 127.0.0.1)")
    if broker.scheme != "redis" or broker.hostname not in LOCAL:
        sys.exit("chaos.py: needs a local Redis broker (REDIS_URL on 127.0.0.1)")


def wait_until(what: str, predicate, limit: float) -> float:
    """Seconds until predicate() is true; exits when the drill's time is up."""
    started = time.monotonic()
    stop = min(started + limit, DEADLINE)
    while time.monotonic() < stop:
        with contextlib.suppress(Exception):
            if predicate():
                return time.monotonic() - started
        time.sleep(0.2)
    raise SystemExit(f"chaos.py: {what}: not within {limit:.0f} s (or the drill's time is up)")


class Workers:
    """Worker processes in their own process groups, all stopped at the end."""

    def __init__(self, log_dir: Path, database_name: str) -> None:
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen] = []
        s = connection.settings_dict
        auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
        self.env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/"
            f"{database_name}",
            "CELERY_BROKER_URL": app.conf.broker_url,
            "CELERY_RESULT_BACKEND": app.conf.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "DB_CONN_MAX_AGE": "0",
        }

    def start(self, name: str, *, slow: float = 0, beat: bool = False) -> subprocess.Popen:
        log_path = self.log_dir / f"{name}.log"
        command = (
            [sys.executable, str(ROOT / "tests/analytics/slow_worker.py")]
            if slow
            else [sys.executable, "-m", "celery", "-A", "config"]
        )
        command += ["worker", "-P", "solo", "--without-gossip", "--without-mingle", "-l", "info"]
        if beat:
            command += ["-B", "-s", str(self.log_dir / "beat-schedule")]
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env={**self.env, "SLOW_ENGINE_SECONDS": str(slow)},
            stdout=open(log_path, "w"),  # noqa: SIM115 - closed with the process
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs.append(proc)
        wait_until(f"{name} ready", lambda: "ready." in log_path.read_text(), 90)
        return proc

    def stop(self, proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)

    @staticmethod
    def kill(proc: subprocess.Popen) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(proc)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def dead_port() -> int:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def main() -> None:
    require_local()
    import redis

    redis.Redis.from_url(app.conf.broker_url).delete("celery")
    old = setup_databases(verbosity=0, interactive=False, keepdb=False)
    workers = Workers(Path(tempfile.mkdtemp(prefix="chaos-")), connection.settings_dict["NAME"])
    try:
        drill(workers)
    finally:
        workers.stop_all()
        close_old_connections()
        connection.close()
        teardown_databases(old, verbosity=0)
        redis.Redis.from_url(app.conf.broker_url).delete("celery")


def drill(workers: Workers) -> None:
    from django.core.management import call_command

    from analytics.models import AnalysisRun
    from analytics.services import plan_seed_demo
    from core.roles import Role
    from registry.models import Center
    from tests.builders import build_casebook, lock_casebook
    from tests.factories import TEST_PASSWORD, UserFactory

    call_command(
        "generate_cohort", patients=ARGS.patients, centers=2, seed=7, lock=True, no_history=True
    )
    center = Center.objects.first()
    coordinator = UserFactory(username="chaos_c", role=Role.COORDINATOR, center=center)
    investigator = UserFactory(username="chaos_i", role=Role.INVESTIGATOR, center=center)
    plan_seed_demo()
    AnalysisRun.objects.all().delete()  # the plan's first run: not part of the drill
    print(
        f"database {connection.settings_dict['NAME']}, broker {app.conf.broker_url}, "
        f"{ARGS.patients} locked casebooks; WORK_HEARTBEAT_TIMEOUT "
        f"{settings.WORK_HEARTBEAT_TIMEOUT} s, WORK_SWEEP_INTERVAL {settings.WORK_SWEEP_INTERVAL} s"
    )

    def lock_new() -> tuple[AnalysisRun, float]:
        patient = build_casebook(coordinator, complete=True)
        started = time.monotonic()
        lock_casebook(patient, investigator, TEST_PASSWORD)  # commits; the run is sent after
        answered = time.monotonic() - started
        return AnalysisRun.objects.order_by("-pk").first(), answered

    def done(run):
        return lambda: AnalysisRun.objects.get(pk=run.pk).status == "done"

    # 1. A worker killed in the middle of the engine.
    doomed = workers.start("doomed", slow=600)
    run, answered_up = lock_new()
    wait_until(
        "the doomed worker reaches the engine",
        lambda: AnalysisRun.objects.get(pk=run.pk).step == "computing the analyses",
        60,
    )
    workers.kill(doomed)
    killed = time.monotonic()
    rescuer = workers.start("rescuer", beat=True)
    wait_until("the killed worker's run is recomputed", done(run), 300)
    print(
        f"1. worker killed -9 mid-run: run done again {time.monotonic() - killed:.1f} s after "
        f"the kill (attempts {AnalysisRun.objects.get(pk=run.pk).attempts})"
    )

    # 2. The broker unreachable from the web process.
    real_broker = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{dead_port()}/0"
    run, answered = lock_new()
    waiting = AnalysisRun.objects.get(pk=run.pk)
    app.conf.broker_url = real_broker
    back = time.monotonic()
    wait_until("the run queued while the broker was away", done(run), 300)
    print(
        f"2. broker unreachable: the lock answered in {answered * 1000:.0f} ms (with the "
        f"broker up: {answered_up * 1000:.0f} ms, a password check included; run "
        f"{waiting.status}, sent: {waiting.dispatched_at is not None}); computed "
        f"{time.monotonic() - back:.1f} s after the broker was back"
    )

    # 3. Every database connection terminated while a run computes (its worker's engine
    # slowed by 5 s so that the run is surely in flight).
    workers.stop(rescuer)
    workers.start("db-restart", slow=5, beat=True)
    run, _ = lock_new()
    wait_until(
        "the run reaches the engine",
        lambda: AnalysisRun.objects.get(pk=run.pk).step == "computing the analyses",
        60,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        (terminated,) = cursor.fetchone()
    connection.close()  # ours too: the next request opens a new one, as a web worker's does
    restarted = time.monotonic()
    client = Client()
    healthy = wait_until("/healthz healthy", lambda: client.get("/healthz").status_code == 200, 60)
    close_old_connections()
    wait_until("the run in flight during the restart", done(run), 300)
    print(
        f"3. database connections restarted mid-run ({terminated} terminated, and this "
        f"process's): /healthz 200 after {healthy * 1000:.0f} ms; the run in flight done "
        f"{time.monotonic() - restarted:.1f} s after the restart (engine 5 s; attempts "
        f"{AnalysisRun.objects.get(pk=run.pk).attempts})"
    )


if __name__ == "__main__":
    main()
