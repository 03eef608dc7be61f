"""The whole manuscript pack for a large cohort: every figure (SVG, PNG 300 dpi, PDF),
Tables 1–3 (DOCX, XLSX, CSV), the methods text, and the ZIP.

    .venv/bin/python benchmarks/publication_pack.py [--sizes 1000 100000] [--repeats 3]

On engine.py's synthetic cohort (seed 12345) with the reference plan (which compares the
baseline by LTR and DpR), the engine computes the bundle once (timed on its own, not part of
the pack); then ``manuscript_zip`` runs --repeats times as the Publication page and
``manage.py publication_pack`` run it on a finished run: subgroup curves and censoring ticks
from the tables, figures, tables, ZIP. Prints the median seconds; the target is < 30 s at
100,000 patients (issue 12). Treatment durations: a synthetic column (uniform share of PFS).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analytics.manuscript import PackTables, manuscript_zip  # noqa: E402
from analytics.stats import analyze  # noqa: E402
from analytics.stats.plan import reference_plan  # noqa: E402
from benchmarks.engine import make_cohort  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print(f"{'n':>9} {'engine s':>9} {'pack s (median)':>16} {'min':>7} {'max':>7} {'ZIP MB':>7}")
    for n in args.sizes:
        patients, ae = make_cohort(n)
        t0 = time.perf_counter()
        bundle = analyze(patients, ae, reference_plan())
        engine = time.perf_counter() - t0
        rng = np.random.default_rng(7)
        treatment = pd.DataFrame(
            {
                "study_id": patients["study_id"],
                "months": patients["pfs_months"] * rng.uniform(0.5, 1.0, n),
                "ongoing": rng.uniform(size=n) < 0.1,
            }
        )
        flow = {
            "registered": n + n // 20,
            "enrolled": n,
            "locked": n,
            "screen_failures": [{"reason": "Inclusion 2: extensive stage", "n": n // 20}],
        }
        times, size = [], 0
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            data = manuscript_zip(
                bundle,
                PackTables(patients, ae, n),
                label="Benchmark cut",
                dataset_sha256=bundle["dataset_sha256"],
                flow=flow,
                treatment=treatment,
            )
            times.append(time.perf_counter() - t0)
            size = len(data)
        print(
            f"{n:>9} {engine:>9.2f} {statistics.median(times):>16.2f} {min(times):>7.2f} "
            f"{max(times):>7.2f} {size / 1e6:>7.2f}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
