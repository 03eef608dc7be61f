"""Grow a benchmark database's locked synthetic cohort to N patients by copying casebooks in SQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench_big \\
        .venv/bin/python benchmarks/grow_cohort.py --patients 1000000

For measuring what reads a large cohort (the export, ``manage.py analyze``) when drawing
every casebook with ``generate_cohort`` would take longer than the machine can give: the
casebooks already there (drawn and validated by ``generate_cohort --lock``) are copied,
set-based in PostgreSQL, doubling the cohort each round, until it holds N patients. Each
copy is a new patient at the same centre with the next free sequence number (and so its
own study id and MRN), with the same CRF records, part completions, signature and stored
analysis rows. Audit events and simple-history rows are not copied: neither the export
nor the analysis reads them. The database's guards against writes to locked casebooks are
triggers, so the copy runs with ``session_replication_role = replica`` (no triggers, no
foreign-key checks: every copied reference points to a row copied in the same round).

Refused unless the database name contains "bench". Prints each round and the row counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Production settings refuse to start without a key; a benchmark has no secrets to keep.
os.environ.setdefault("SECRET_KEY", "benchmark-only-not-a-secret")

# Tables with one or more rows per patient that the export or the analysis reads.
CHILD_TABLES = (
    "registry_baseline",
    "registry_firstlinetherapy",
    "registry_secondlinetherapy",
    "registry_tumourassessment",
    "registry_adverseevent",
    "registry_followup",
    "registry_sectioncompletion",
    "registry_signature",
    "analytics_analysisadverseeventrow",
)


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
        "ORDER BY ordinal_position",
        [table],
    )
    return [name for (name,) in cursor.fetchall()]


def _padded(expression: str, width: int) -> str:
    """Python's f"{n:0{width}d}" in SQL (lpad alone would cut longer numbers)."""
    return f"lpad(({expression})::text, greatest({width}, length(({expression})::text)), '0')"


def grow_round(cursor, count: int) -> None:
    """Copy the first ``count`` patients (by id) once, with their rows."""
    cursor.execute("SELECT max(sequence) FROM registry_patient")
    (offset,) = cursor.fetchone()
    cursor.execute("DROP TABLE IF EXISTS grow_map")
    cursor.execute(
        "CREATE TEMP TABLE grow_map AS "
        "SELECT id AS old_id, nextval(pg_get_serial_sequence('registry_patient', 'id')) AS new_id, "
        "sequence + %s AS new_sequence FROM registry_patient ORDER BY id LIMIT %s",
        [offset, count],
    )
    cursor.execute("CREATE INDEX ON grow_map (old_id)")
    cursor.execute("ANALYZE grow_map")
    replaced = {
        "id": "m.new_id",
        "sequence": "m.new_sequence",
        "study_id": f"c.code || '-' || {_padded('m.new_sequence', 4)}",
        "mrn": f"'SYN' || {_padded('m.new_sequence', 7)}",
    }
    columns = _columns(cursor, "registry_patient")
    values = ", ".join(replaced.get(col, f"p.{col}") for col in columns)
    cursor.execute(
        f"INSERT INTO registry_patient ({', '.join(columns)}) SELECT {values} "  # noqa: S608
        "FROM registry_patient p JOIN grow_map m ON p.id = m.old_id "
        "JOIN registry_center c ON c.id = p.center_id ORDER BY m.new_id"
    )
    for table in CHILD_TABLES:
        columns = [col for col in _columns(cursor, table) if col != "id"]
        copied = {
            "patient_id": "m.new_id",
            "sequence": "n.sequence",
            "study_id": "n.study_id",
        }
        values = ", ".join(copied.get(col, f"t.{col}") for col in columns)
        cursor.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {values} "  # noqa: S608
            f"FROM {table} t JOIN grow_map m ON t.patient_id = m.old_id "
            "JOIN registry_patient n ON n.id = m.new_id ORDER BY t.id"
        )
    # The stored analysis row's key is the patient.
    columns = _columns(cursor, "analytics_analysisrow")
    copied = {"patient_id": "m.new_id", "sequence": "n.sequence", "study_id": "n.study_id"}
    values = ", ".join(copied.get(col, f"t.{col}") for col in columns)
    cursor.execute(
        f"INSERT INTO analytics_analysisrow ({', '.join(columns)}) SELECT {values} "  # noqa: S608
        "FROM analytics_analysisrow t JOIN grow_map m ON t.patient_id = m.old_id "
        "JOIN registry_patient n ON n.id = m.new_id"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, required=True)
    args = parser.parse_args()
    import django

    django.setup()
    from django.db import connection, transaction

    name = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql" or "bench" not in str(name):
        sys.exit("Set DATABASE_URL to a PostgreSQL database whose name contains 'bench'.")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), count(*) FILTER (WHERE casebook_status = 'locked') "
            "FROM registry_patient"
        )
        total, locked = cursor.fetchone()
    if total == 0 or total != locked:
        sys.exit(f"Needs a cohort of locked casebooks ({total} patients, {locked} locked).")
    started = time.perf_counter()
    while total < args.patients:
        count = min(total, args.patients - total)
        round_started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            grow_round(cursor, count)
        total += count
        print(
            f"copied {count} casebooks: {total} patients "
            f"({time.perf_counter() - round_started:.0f} s)",
            flush=True,
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        for table in ("registry_patient", *CHILD_TABLES, "analytics_analysisrow"):
            cursor.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - fixed names
            print(f"  {table:<36} {cursor.fetchone()[0]:>10} rows")
    print(f"grown to {total} patients in {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
