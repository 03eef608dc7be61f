"""``manage.py analyze``: the engine on files (no database), or on the current locked data.

With --patients it is exactly ``python -m analytics.stats`` (analysis-contract.md §6).
Without it, it runs the study's current plan on the locked casebooks synchronously — for
installations without a worker — and writes the bundle to --out. Bad input: exit status 2
and one line on stderr.
"""

from __future__ import annotations

import json
import sys

from django.core.management.base import BaseCommand

from analytics.stats import cli

EXIT_BAD_INPUT = cli.EXIT_BAD_INPUT
USAGE = """usage: manage.py analyze --patients P.csv [--adverse-events A.csv]
                           [--plan plan.json | --reference-plan] --out bundle.json
       manage.py analyze --out bundle.json [--plan plan.json | --reference-plan]

With --patients: the engine on files, no database. Without: the current analysis plan (or
the plan given, which is not saved) on the current locked casebooks, synchronously. Exit
status 2 and one line on stderr for bad input."""


class Command(BaseCommand):
    help = "Run the analysis plan on CSV files (--patients …) or on the current locked data."

    def run_from_argv(self, argv: list[str]) -> None:
        # Our own parsing: Django's would print usage and exit 1; the contract says exit 2 and
        # one line on stderr.
        code = self.execute_argv(argv[2:], sys.stdout, sys.stderr)
        sys.exit(code)

    def execute_argv(self, args: list[str], stdout, stderr) -> int:
        if "-h" in args or "--help" in args:
            print(USAGE, file=stdout)
            return 0
        if any(a == "--patients" or a.startswith("--patients=") for a in args):
            return cli.main(args, stdout, stderr)
        return self.from_database(args, stdout, stderr)

    def from_database(self, args: list[str], stdout, stderr) -> int:
        parser = cli._Parser(prog="manage.py analyze", add_help=False)
        parser.add_argument("--out", required=True)
        # a plan tried on the locked data without saving it as a plan version
        parser.add_argument("--plan")
        parser.add_argument("--reference-plan", action="store_true")
        from analytics.datasets import build_analysis_tables
        from analytics.services import plan_current
        from analytics.stats import EngineInputError, analyze
        from analytics.stats.plan import reference_plan

        try:
            opts = parser.parse_args(args)
            if opts.plan and opts.reference_plan:
                raise EngineInputError("give --plan or --reference-plan, not both")
            given = cli.read_plan(opts.plan) if opts.plan else None
        except (cli._ArgError, EngineInputError) as exc:
            print(f"analyze: error: {exc}", file=stderr)
            return EXIT_BAD_INPUT
        if opts.reference_plan:
            given = reference_plan()
        plan = plan_current() if given is None else None
        if given is None and plan is None:
            print(
                "analyze: error: no analysis plan saved (run manage.py seed_analysis_plan)",
                file=stderr,
            )
            return EXIT_BAD_INPUT
        tables = build_analysis_tables()
        try:
            plan_json = given if given is not None else plan.plan
            bundle = cli.to_jsonable(analyze(tables.patients, tables.adverse_events, plan_json))
            cli.write_atomic(opts.out, json.dumps(bundle, allow_nan=False, ensure_ascii=False))
        except EngineInputError as exc:
            print(f"analyze: error: {exc}", file=stderr)
            return EXIT_BAD_INPUT
        except OSError as exc:
            print(f"analyze: error: {exc.filename or opts.out}: {exc.strerror}", file=stderr)
            return EXIT_BAD_INPUT
        which = f"plan v{plan.version}" if plan is not None else "the plan given (not saved)"
        print(
            f"wrote {opts.out}: {which}, {bundle['n_patients']} patients "
            f"({tables.n_locked} locked casebooks), {len(bundle['warnings'])} warning(s)",
            file=stdout,
        )
        return 0

    def handle(self, *args, **options):  # pragma: no cover - call_command goes through here
        raise NotImplementedError("use manage.py analyze or Command().execute_argv(...)")
