"""``manage.py run_quality_rules``: check every data-quality rule now and print the summary."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from quality.checks import rules_run
from quality.rules import RULES


class Command(BaseCommand):
    help = "Run the data-quality rules over the cohort (or --patient ids) and sync the queries."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--patient", type=int, action="append", help="Patient id (repeat).")

    def handle(self, *args, **options) -> None:
        summary = rules_run(options["patient"])
        for rule in RULES:
            self.stdout.write(f"{rule.code:32} {rule.severity:8} {summary['hits'][rule.code]:>8}")
        self.stdout.write(
            f"Automatic queries: {summary['opened']} opened, {summary['closed']} closed."
        )
