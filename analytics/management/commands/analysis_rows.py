"""``manage.py analysis_rows --verify | --rebuild``: check or repair the stored analysis rows.

Each lock writes its casebook's rows of the engine's tables and each unlock removes them
(analytics.datasets). ``--verify`` compares every stored row with a rebuild from the locked
casebooks and exits 1, naming what differs, if they disagree; ``--rebuild`` replaces them
all (after an upgrade, or a repair done behind the services' back).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from analytics.datasets import analysis_rows_differences, analysis_rows_rebuild


class Command(BaseCommand):
    help = "Verify (--verify) or rebuild (--rebuild) the stored analysis rows of locked casebooks."

    def add_arguments(self, parser) -> None:
        action = parser.add_mutually_exclusive_group(required=True)
        action.add_argument("--verify", action="store_true", help="Compare with a full rebuild.")
        action.add_argument("--rebuild", action="store_true", help="Replace every stored row.")

    def handle(self, *args, verify: bool, rebuild: bool, **options) -> None:
        started = time.perf_counter()
        if rebuild:
            with transaction.atomic():
                count = analysis_rows_rebuild()
            seconds = time.perf_counter() - started
            self.stdout.write(
                f"Rebuilt the analysis rows of {count} locked casebooks ({seconds:.1f} s)."
            )
            return
        problems = analysis_rows_differences()
        seconds = time.perf_counter() - started
        if problems:
            for problem in problems:
                self.stderr.write(problem)
            raise CommandError(
                "The stored analysis rows differ from the locked casebooks: "
                "run manage.py analysis_rows --rebuild.",
                returncode=1,
            )
        self.stdout.write(f"The stored analysis rows equal a full rebuild ({seconds:.1f} s).")
