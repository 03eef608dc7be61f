"""Build import files the way a user would: the registry's own template, edited."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook

from exchange.imports import services
from exchange.imports.template import write_template
from exchange.models import ImportJob
from registry.models import Patient


def template(path: Path, patients=None) -> Path:
    write_template(path, patients)
    return path


class Workbook:
    """An import template opened for editing: rows as dicts by column name."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.book = load_workbook(path)

    def header(self, sheet: str) -> list[str]:
        return [c.value for c in self.book[sheet][1]]

    def rows(self, sheet: str) -> list[dict]:
        header = self.header(sheet)
        out = []
        for values in self.book[sheet].iter_rows(min_row=3, values_only=True):
            if any(v is not None for v in values):
                out.append(dict(zip(header, values, strict=False)))
        return out

    def set(self, sheet: str, row_index: int, column: str, value) -> None:
        """Set ``column`` of the ``row_index``-th data row (0-based)."""
        col = self.header(sheet).index(column) + 1
        self.book[sheet].cell(row=3 + row_index, column=col).value = value

    def append(self, sheet: str, values: dict) -> None:
        header = self.header(sheet)
        self.book[sheet].append([values.get(name) for name in header])

    def save(self, path: Path | None = None) -> Path:
        target = path or self.path
        self.book.save(target)
        return target


def preview(user, path: Path, *, name: str | None = None, **options) -> ImportJob:
    with open(path, "rb") as handle:
        job = services.import_request(
            user=user, file=handle, file_name=name or path.name, enqueue=False, **options
        )
    return services.import_run(job_id=job.pk)


def commit(user, job: ImportJob) -> ImportJob:
    services.import_commit_request(user=user, job_id=job.pk, enqueue=False)
    return services.import_run(job_id=job.pk)


def upload(data: bytes, name: str):
    return io.BytesIO(data), name


def errors(job: ImportJob) -> list[dict]:
    return [p for p in job.problems if p["severity"] != "warning"]


def patient_count() -> int:
    return Patient.objects.count()
