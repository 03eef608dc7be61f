"""Real Celery worker processes for tests: started on the test database and a Redis broker,
always stopped (their whole process group) when the test ends, whatever happened."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
BROKER_URL = os.environ.get("ANALYTICS_WORKER_BROKER_URL", "redis://127.0.0.1:6379/3")
WORKER_ARGS = [
    "worker",
    "-P",
    "solo",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "-l",
    "info",
]


# Set to a PgBouncer in transaction pooling mode that forwards every database to the test
# server (e.g. postgres://postgres@127.0.0.1:6439; docs/operations.md), the workers reach
# the test database through it, as in the compose "scale" profile; this process (pytest,
# which creates and drops the test database) stays on a direct connection.
PGBOUNCER_URL = os.environ.get("TEST_WORKER_PGBOUNCER_URL", "")


def test_database_url() -> str:
    s = connection.settings_dict
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def worker_database_env() -> dict[str, str]:
    """DATABASE_URL (and the pooler setting) of the workers: the test database, directly or
    through PgBouncer."""
    if not PGBOUNCER_URL:
        return {"DATABASE_URL": test_database_url()}
    return {
        "DATABASE_URL": f"{PGBOUNCER_URL.rstrip('/')}/{connection.settings_dict['NAME']}",
        "DATABASE_POOLER": "pgbouncer",
    }


def pgbouncer_transactions(database: str) -> int:
    """Transactions PgBouncer has passed to ``database`` so far (its admin console's SHOW
    STATS): proof that the workers went through it."""
    with _pgbouncer_admin() as admin:
        cursor = admin.execute("SHOW STATS")
        names = [column.name for column in cursor.description]
        for row in cursor.fetchall():
            stats = dict(zip(names, row, strict=True))
            if stats["database"] == database:
                return int(stats["total_xact_count"])
    return 0


def _pgbouncer_admin():
    import psycopg

    # The admin console speaks only the simple query protocol: a client-side cursor.
    return psycopg.connect(
        f"{PGBOUNCER_URL.rstrip('/')}/pgbouncer",
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,
    )


def pgbouncer_release(database: str) -> None:
    """Close PgBouncer's server connections to ``database`` (KILL, then RESUME for later
    clients), so that pytest can drop the test database at the end."""
    with _pgbouncer_admin() as admin:
        admin.execute(f"KILL {database}")
        admin.execute(f"RESUME {database}")


def worker_env(**extra: str) -> dict[str, str]:
    return {
        **os.environ,
        **worker_database_env(),
        "CELERY_BROKER_URL": BROKER_URL,
        "REDIS_URL": BROKER_URL,
        "CELERY_RESULT_BACKEND": BROKER_URL,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DB_CONN_MAX_AGE": "0",
        **extra,
    }


def stop(proc: subprocess.Popen, *, kill: bool = False) -> None:
    """Stop the worker and everything it started (embedded beat): its process group."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL if kill else signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # A SIGKILLed worker leaves its children (if any) to init: end the group regardless.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@contextlib.contextmanager
def running_worker(
    log_path: Path, *, command: list[str] | None = None, args: list[str] = (), **env: str
) -> Iterator[subprocess.Popen]:
    """A worker process, yielded once its log says it is ready; stopped on the way out."""
    command = command or [sys.executable, "-m", "celery", "-A", "config"]
    log = open(log_path, "w+")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [*command, *WORKER_ARGS, *args],
        cwd=ROOT,
        env=worker_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so stop() reaches its children
    )
    try:
        deadline = time.monotonic() + 60
        while "ready." not in log_path.read_text():
            assert proc.poll() is None, "the worker exited during start-up"
            assert time.monotonic() < deadline, "the worker did not start within 60 s"
            time.sleep(0.3)
        yield proc
    finally:
        stop(proc)
        log.seek(0)
        print(log.read()[-4000:])  # shown by pytest when the test fails
        log.close()
