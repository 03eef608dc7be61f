"""An export's rows written by forked processes (settings.EXPORT_PROCESSES): byte for byte the
files of one process, and a failure in any process fails the export and leaves nothing."""

import json
import os
import zipfile
from pathlib import Path

import pytest
from django.db import connection

from exchange import writer
from exchange.models import ExportJob
from registry.models import AuditEvent
from tests import builders
from tests.conftest import service_missing
from tests.exchange.helpers import run_export

# The children read with connections of their own: the cohort must be committed.
pytestmark = pytest.mark.django_db(transaction=True)

# A named recipient keeps one pseudonym key, so two exports give the same pseudonyms.
RECIPIENT = "Parallel rows check"
# What differs between any two exports: their id and time, and so the README's hash.
PER_EXPORT = ("export_id", "exported_at")


@pytest.fixture
def cohort(settings, tmp_path, center_a, center_b, pi_user):
    if connection.vendor != "postgresql":
        service_missing("PostgreSQL (export rows written by forked processes)")
    settings.EXPORT_ROOT = tmp_path / "exports"
    # 63 patients in chunks of 5: every process reads several chunks, the last one short.
    settings.EXPORT_CHUNK_SIZE = 5
    builders.bulk_casebooks(center_a, 37, lock=True, seed=3)
    builders.bulk_casebooks(center_b, 26, lock=True, seed=4)
    return pi_user


@pytest.fixture
def forks(monkeypatch):
    """The number of processes of each export that wrote its rows in several."""
    seen: list[int] = []
    original = writer._write_rows_in_processes

    def spy(rows_of, ids, pks, work, processes):
        seen.append(processes)
        return original(rows_of, ids, pks, work, processes)

    monkeypatch.setattr(writer, "_write_rows_in_processes", spy)
    return seen


def _export(user, settings, processes: int, **options) -> ExportJob:
    settings.EXPORT_PROCESSES = processes
    job = run_export(user, recipient=RECIPIENT, formats=["csv", "redcap"], **options)
    assert job.status == ExportJob.Status.DONE, job.error
    return job


def _members(job: ExportJob) -> dict[str, bytes]:
    with zipfile.ZipFile(job.file_path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _manifest_without_per_export(members: dict[str, bytes]) -> dict:
    manifest = json.loads(members["manifest.json"])
    for key in PER_EXPORT:
        manifest.pop(key)
    manifest["files_sha256"].pop("README.md")
    return manifest


def _readme_without_per_export(members: dict[str, bytes]) -> list[str]:
    return [
        line
        for line in members["README.md"].decode("utf-8").splitlines()
        if not line.startswith("Export ")
    ]


@pytest.mark.parametrize(
    "options",
    [{}, {"date_mode": "shifted", "coarsen_centers": True}],
    ids=["relative-dates", "shifted-dates-coarse-centres"],
)
@pytest.mark.parametrize("processes", [2, 3])
def test_rows_written_by_several_processes_are_the_files_of_one(
    cohort, settings, forks, processes, options
):
    one = _members(_export(cohort, settings, 1, **options))
    several = _members(_export(cohort, settings, processes, **options))

    assert forks == [processes]
    assert sorted(several) == sorted(one)
    data_files = [name for name in one if name not in ("README.md", "manifest.json")]
    assert "redcap/records.csv" in data_files
    for name in data_files:
        assert several[name] == one[name], name
    assert _manifest_without_per_export(several) == _manifest_without_per_export(one)
    assert _readme_without_per_export(several) == _readme_without_per_export(one)
    counts = json.loads(several["manifest.json"])["row_counts"]
    assert counts["tables/registration.csv"] == 63
    assert several["tables/registration.csv"].count(b"\nstudy_id,") == 0  # one header


def test_a_failing_child_fails_the_export_naming_its_part(cohort, settings, monkeypatch):
    parent = os.getpid()
    original = writer._write_book

    def fails_in_a_child(book, ctx, *args):
        if os.getpid() != parent:
            raise OSError("disk full")
        return original(book, ctx, *args)

    monkeypatch.setattr(writer, "_write_book", fails_in_a_child)
    settings.EXPORT_PROCESSES = 2
    job = run_export(cohort, recipient=RECIPIENT)

    assert job.status == ExportJob.Status.FAILED
    assert job.error == "export rows, part 2 of 2: OSError: disk full"
    refused = AuditEvent.objects.get(action=AuditEvent.Action.EXPORT_REFUSED)
    assert refused.detail["stage"] == "failed"
    assert list(Path(settings.EXPORT_ROOT).iterdir()) == []


def test_a_failing_parent_kills_its_children_and_leaves_nothing(cohort, settings, monkeypatch):
    parent = os.getpid()
    original = writer._write_book

    def fails_in_the_parent(book, ctx, *args):
        if os.getpid() == parent:
            raise OSError("disk full")
        return original(book, ctx, *args)

    def children() -> set[str]:
        return set(Path(f"/proc/{parent}/task/{parent}/children").read_text().split())

    monkeypatch.setattr(writer, "_write_book", fails_in_the_parent)
    settings.EXPORT_PROCESSES = 3
    # The test process may have children of its own already (a browser driver, a worker,
    # an SMTP server of other tests' session fixtures): none may be added by the export.
    before = children()
    job = run_export(cohort, recipient=RECIPIENT)

    assert (job.status, job.error) == (ExportJob.Status.FAILED, "disk full")
    assert children() - before == set()
    assert list(Path(settings.EXPORT_ROOT).iterdir()) == []
