"""``manage.py freeze_cut NAME --user USERNAME [--note TEXT] [--kit PATH]``: freeze the
current locked data, plan and engine version as a named cut, for scripts.

The cut is made by the same service as the page's "Freeze" button, as the named user (who
must be a PI, data manager or admin), and audited as theirs. A refusal (taken name, nothing
locked, no plan, wrong role, unknown user) prints one line naming the field and exits 2.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from publication import kit, services
from registry.models import User


class Command(BaseCommand):
    help = "Freeze the current locked data, plan and engine version as a named data cut."

    def add_arguments(self, parser):
        parser.add_argument("name", help='The cut\'s name, e.g. "Manuscript v1".')
        parser.add_argument("--user", required=True, help="Username of the PI, DM or admin.")
        parser.add_argument("--note", default="", help="What the cut is for.")
        parser.add_argument(
            "--kit", dest="kit_path", help="Also write the reproduction kit ZIP to this path."
        )

    def handle(self, *args, name: str, user: str, note: str, kit_path: str | None, **options):
        person = User.objects.filter(username=user, is_active=True).first()
        if person is None:
            raise CommandError(f"--user: no active user named {user!r}.", returncode=2)
        try:
            cut = services.cut_freeze(user=person, name=name, note=note)
        except ApplicationError as error:
            raise CommandError(error.message, returncode=2) from None
        self.stdout.write(
            f"Data cut #{cut.pk} “{cut.name}”: {cut.n_analysed} patients analysed "
            f"({cut.n_locked} locked), plan v{cut.plan_version}, engine {cut.engine_version}, "
            f"dataset {cut.dataset_sha256}"
        )
        if kit_path:
            path = Path(kit_path)
            path.write_bytes(kit.kit_zip(cut))
            services.cut_download_audit(user=person, cut=cut, what="kit.zip")
            self.stdout.write(f"Reproduction kit written to {path}")
