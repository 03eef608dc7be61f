"""``manage.py publication_pack --out DIR [--cut NAME]``: the Publication page's files.

The source is the named data cut (its frozen bundle, tables, flow counts and treatment
durations: the same files whenever they are written), or without --cut the latest analysis
run marked final, else the latest complete run — the run the Publication page shows.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analytics import selectors
from analytics.manuscript import manuscript_files
from core.errors import ApplicationError
from publication.models import DataCut
from publication.services import cut_manuscript_inputs


class Command(BaseCommand):
    help = (
        "Write the manuscript pack (figures as SVG/PNG/PDF, Tables 1-3 as DOCX/XLSX/CSV, the "
        "methods paragraph) of a data cut (--cut) or of the latest final (else latest complete) "
        "analysis run to --out."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", required=True, help="Directory to write the files to.")
        parser.add_argument("--cut", help="The name of a data cut (default: the latest run).")

    def _inputs(self, options: dict) -> dict:
        if options.get("cut"):
            cut = DataCut.objects.filter(name__iexact=options["cut"].strip()).first()
            if cut is None:
                raise CommandError(f"--cut: no data cut is named {options['cut']!r}.")
            self.stdout.write(f"Source: data cut {cut.name}, dataset {cut.dataset_sha256[:16]}")
            return cut_manuscript_inputs(cut)
        run = selectors.run_for_publication()
        if run is None or not run.result:
            raise CommandError("No finished analysis run: lock casebooks or run `analyze`.")
        try:
            inputs = selectors.manuscript_inputs(run)
        except ApplicationError as error:
            raise CommandError(error.message) from None
        self.stdout.write(f"Source: {inputs['label']}, dataset {run.dataset_sha256[:16]}")
        return inputs

    def handle(self, *args, **options) -> None:
        out = Path(options["out"])
        if out.exists() and not out.is_dir():
            raise CommandError(f"--out: {out} exists and is not a directory.")
        inputs = self._inputs(options)
        files = manuscript_files(inputs.pop("bundle"), inputs.pop("tables"), **inputs)
        for name, content in sorted(files.items()):
            target = out / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        self.stdout.write(f"Wrote {len(files)} files to {out}")
