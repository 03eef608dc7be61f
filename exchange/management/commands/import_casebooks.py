"""python manage.py import_casebooks FILE [--format xlsx|csv-zip|redcap] [--center CODE]
--user USERNAME [--dry-run] [--skip-invalid-patients]

The same services as the import page: the preview, then (unless --dry-run) the commit,
run here synchronously. Exit status: 0 imported (or a clean dry run), 1 problems found and
nothing written, 2 the file could not be read.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from exchange.imports import services
from exchange.imports.readers import FORMATS
from exchange.models import ImportJob
from registry.models import User

SHOWN_PROBLEMS = 50
COUNT_LINES = (
    (
        "patients",
        ("patients_created", "patients_updated", "patients_unchanged", "patients_invalid"),
    ),
    ("records", ("records_created", "records_updated", "records_unchanged")),
)


class Command(BaseCommand):
    help = "Import casebooks from the XLSX template, an export ZIP or a REDCap records CSV."

    def add_arguments(self, parser):
        parser.add_argument("file", help="the file to import")
        parser.add_argument("--format", choices=FORMATS, help="default: from the file name")
        parser.add_argument("--center", default="", help="import into this centre only")
        parser.add_argument("--user", required=True, help="username the import runs as")
        parser.add_argument("--dry-run", action="store_true", help="preview only; write nothing")
        parser.add_argument(
            "--skip-invalid-patients",
            action="store_true",
            help="import the patients without errors and report the others",
        )

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file", returncode=2)
        user = User.objects.filter(username=opts["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"--user: no active user named {opts['user']!r}")
        try:
            with open(path, "rb") as handle:
                job = services.import_request(
                    user=user,
                    file=handle,
                    file_name=path.name,
                    file_format=opts["format"],
                    center=opts["center"] or None,
                    skip_invalid_patients=opts["skip_invalid_patients"],
                    enqueue=False,
                )
        except ApplicationError as error:
            raise CommandError(
                error.message, returncode=2 if "file" in (error.fields or {}) else 1
            ) from None
        job = services.import_run(job_id=job.pk)
        if job.unreadable:
            raise CommandError(f"{path.name}: {job.error}", returncode=2)
        if job.status == ImportJob.Status.FAILED:
            raise CommandError(f"{path.name}: {job.error}")
        self._report(job, dry_run=opts["dry_run"])
        if opts["dry_run"]:
            if not job.can_commit and job.counts.get("errors"):
                raise CommandError("problems found; nothing would be imported (dry run)")
            self.stdout.write("dry run: nothing written")
            return
        if not job.can_commit:
            if job.counts.get("errors"):
                raise CommandError("problems found; nothing was imported")
            self.stdout.write("nothing to import: the registry already holds this data")
            return
        try:
            services.import_commit_request(user=user, job_id=job.pk, enqueue=False)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        job = services.import_run(job_id=job.pk)
        if job.status != ImportJob.Status.DONE:
            raise CommandError(f"nothing was imported: {job.error}")
        self.stdout.write(
            f"imported {path.name} (import {job.pk}, sha256 {job.file_sha256}): "
            + self._counts(job.counts)
        )

    def _counts(self, counts: dict) -> str:
        parts = []
        for noun, keys in COUNT_LINES:
            text = ", ".join(f"{counts.get(k, 0)} {k.split('_')[1]}" for k in keys)
            parts.append(f"{noun}: {text}")
        return "; ".join(parts)

    def _report(self, job: ImportJob, *, dry_run: bool) -> None:
        counts = job.counts
        self.stdout.write(f"preview of {job.file_name}: " + self._counts(counts))
        problems = job.problems
        for problem in problems[:SHOWN_PROBLEMS]:
            where = ", ".join(
                str(x)
                for x in (
                    problem["sheet"],
                    f"row {problem['row']}" if problem["row"] else "",
                    problem["column"],
                    problem["study_id"],
                )
                if x
            )
            stream = self.stdout if problem["severity"] == "warning" else self.stderr
            stream.write(f"{problem['severity']}: {where}: {problem['message']}")
        hidden = counts.get("errors", 0) + counts.get("warnings", 0) - SHOWN_PROBLEMS
        if hidden > 0:
            self.stderr.write(f"… and {hidden} more problems")
