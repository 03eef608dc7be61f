"""python manage.py export_dataset --out FILE.zip --user USERNAME [options]

The same service as the web page (permissions, audit, manifest), run synchronously.
"""

import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from exchange import services
from exchange.models import ExportJob
from registry.models import User


def _csv_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


class Command(BaseCommand):
    help = "Export the study's dataset (de-identified unless --identified) into one ZIP."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, help="where to write the ZIP")
        parser.add_argument("--user", required=True, help="username the export runs as")
        parser.add_argument("--centers", default="", help="centre codes, e.g. BJ,SH (default all)")
        parser.add_argument("--formats", default="csv", help="csv,xlsx,sav,redcap")
        parser.add_argument("--identified", action="store_true")
        parser.add_argument("--reason", default="")
        parser.add_argument("--date-mode", default="relative", choices=["relative", "shifted"])
        parser.add_argument("--recipient", default="", help="per-recipient pseudonyms")
        parser.add_argument("--coarsen-centers", action="store_true")
        parser.add_argument(
            "--all-casebooks", action="store_true", help="include casebooks not yet locked"
        )

    def handle(self, *args, **opts):
        out = Path(opts["out"])
        if out.suffix.lower() != ".zip":
            raise CommandError(f"--out: must end in .zip, not {out.name!r}")
        if not out.parent.is_dir():
            raise CommandError(f"--out: directory {out.parent} does not exist")
        user = User.objects.filter(username=opts["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"--user: no active user named {opts['user']!r}")
        try:
            job = services.export_request(
                user=user,
                centers=_csv_list(opts["centers"]) or None,
                locked_only=not opts["all_casebooks"],
                formats=_csv_list(opts["formats"]) or ["csv"],
                identified=opts["identified"],
                reason=opts["reason"],
                date_mode=opts["date_mode"],
                recipient=opts["recipient"],
                coarsen_centers=opts["coarsen_centers"],
                enqueue=False,
            )
        except ApplicationError as error:
            raise CommandError(error.message) from None
        job = services.export_run(job_id=job.pk)
        if job is None or job.status != ExportJob.Status.DONE:
            raise CommandError(f"export {job.pk if job else ''} failed: {job.error if job else ''}")
        shutil.copyfile(job.file_path, out)
        counts = job.row_counts
        self.stdout.write(
            f"wrote {out}: export {job.pk}, "
            f"{counts.get('tables/registration.csv', 0)} patients, "
            f"{counts.get('analysis/adverse_events.csv', 0)} adverse events, "
            f"k={job.risk.get('k')}, sha256 {job.file_sha256}"
        )
        if job.risk.get("warning"):
            self.stderr.write(job.risk["warning"])
