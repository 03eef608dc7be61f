"""python manage.py export_pseudonyms --job N --user ADMIN --out map.csv

Writes the (pseudonym, study id) map of one de-identified export, for an administrator
who must trace a recipient's question back to a casebook. Audited like an export.
"""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from exchange import services
from registry.models import User


class Command(BaseCommand):
    help = "Write the pseudonym → study id map of one de-identified export (administrators)."

    def add_arguments(self, parser):
        parser.add_argument("--job", type=int, required=True, help="export number")
        parser.add_argument("--user", required=True, help="administrator's username")
        parser.add_argument("--out", required=True, help="CSV file to write")

    def handle(self, *args, **opts):
        out = Path(opts["out"])
        if not out.parent.is_dir():
            raise CommandError(f"--out: directory {out.parent} does not exist")
        user = User.objects.filter(username=opts["user"], is_active=True).first()
        if user is None:
            raise CommandError(f"--user: no active user named {opts['user']!r}")
        try:
            pairs = services.pseudonym_mapping(user=user, job_id=opts["job"])
        except ApplicationError as error:
            raise CommandError(error.message) from None
        with open(out, "w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["pseudonym", "study_id"])
            writer.writerows(pairs)
        self.stdout.write(f"wrote {out}: {len(pairs)} pseudonyms of export {opts['job']}")
