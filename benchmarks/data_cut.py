"""What a named data cut costs beyond the analysis: freezing the tables and building the kit,
and the kit's R script, on engine.py's synthetic cohort (seed 12345, reference plan).

    DEBUG=1 .venv/bin/python benchmarks/data_cut.py [--sizes 1000 10000 100000] [--no-r]

Per size it prints, wall seconds of one run each:
- ``freeze``: ``publication.services.cut_build`` — both tables written as CSV text, re-read
  and hashed again (the check that the stored text is the data), and the bundle computed by
  the engine (a freeze that reuses a finished run's bundle skips this part: ``engine``);
- ``engine``: the ``analytics.services.bundle_compute`` share of ``freeze``;
- ``kit``: ``publication.kit.kit_zip`` (de-identification, expected numbers, reproduce.R, ZIP);
- ``stored``: the frozen CSV text in MB (what the cut row holds besides the bundle);
- ``R``: ``Rscript reproduce.R`` on the unpacked kit, and its summary line.
No database: the cut is built in memory (the model's save is one INSERT).
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

from django.utils import timezone  # noqa: E402

from analytics import services as analytics_services  # noqa: E402
from analytics.datasets import AnalysisTables, _ae_frame, _patient_frame  # noqa: E402
from analytics.models import AnalysisPlan  # noqa: E402
from analytics.stats.plan import parse_plan, plan_sha256, reference_plan  # noqa: E402
from benchmarks.engine import make_cohort  # noqa: E402
from publication import kit, services  # noqa: E402
from registry.models import User  # noqa: E402


def measure(n: int, run_r: bool) -> None:
    patients, events = make_cohort(n)
    patients["l2_best_response"] = None
    tables = AnalysisTables(_patient_frame(patients), _ae_frame(events), n_locked=n)
    plan = {**reference_plan(), "km_ci": "log-log"}
    plan_row = AnalysisPlan(version=1, plan=plan, plan_sha256=plan_sha256(parse_plan(plan)))
    user = User(username="benchmark")

    started = time.perf_counter()
    analytics_services.bundle_compute(tables, plan)
    engine = time.perf_counter() - started

    started = time.perf_counter()
    cut = services.cut_build(
        user=user, name="bench", note="", tables=tables, plan=plan_row, locked=[]
    )
    freeze = time.perf_counter() - started
    cut.pk = 1
    cut.created_at = timezone.now()

    started = time.perf_counter()
    data = kit.kit_zip(cut)
    kit_seconds = time.perf_counter() - started
    stored = (len(cut.patients_csv) + len(cut.adverse_events_csv)) / 1e6
    line = (
        f"n={n:>7}: freeze {freeze:6.2f} s (engine {engine:5.2f} s), kit {kit_seconds:6.2f} s "
        f"({len(data) / 1e6:.1f} MB ZIP), stored {stored:.1f} MB"
    )
    if run_r:
        with tempfile.TemporaryDirectory() as tmp:
            zipfile.ZipFile(io.BytesIO(data)).extractall(tmp)
            started = time.perf_counter()
            done = subprocess.run(
                ["Rscript", "reproduce.R"],
                cwd=Path(tmp) / "data-cut-1-kit",
                capture_output=True,
                text=True,
            )
            r_seconds = time.perf_counter() - started
        summary = (done.stdout.strip().splitlines() or [""])[0]
        line += f", R {r_seconds:6.2f} s (exit {done.returncode}): {summary}"
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--no-r", action="store_true", help="skip the R script")
    args = parser.parse_args()
    for n in args.sizes:
        measure(n, not args.no_r)


if __name__ == "__main__":
    main()
