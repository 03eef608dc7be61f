"""``manage.py publication_pack --out DIR``: the Publication page's files, written to DIR.

The source is the latest analysis run marked final, else the latest complete run — the run
the Publication page shows. ``_inputs`` is the one place that chooses the source, so a
``--cut NAME`` option (a frozen data cut's stored bundle and tables) is a second branch there.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analytics import selectors
from analytics.manuscript import manuscript_files
from core.errors import ApplicationError


class Command(BaseCommand):
    help = (
        "Write the manuscript pack (figures as SVG/PNG/PDF, Tables 1-3 as DOCX/XLSX/CSV, the "
        "methods paragraph) of the latest final (else latest complete) analysis run to --out."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--out", required=True, help="Directory to write the files to.")

    def _inputs(self, options: dict) -> dict:
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
