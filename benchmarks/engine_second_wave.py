"""What the contract's section 7 options add to an engine run, in process.

    .venv/bin/python benchmarks/engine_second_wave.py [--sizes 1000 10000 100000] [--repeats 3]

On engine.py's synthetic cohort (seed 12345) with the reference plan (km_ci log-log), times
``analyze()`` (median of the repeats, wall and CPU of this process) with:
- ``none``: the second-wave options off (ph_test false, firth false), the engine of 1.0;
- ``default``: the plan's defaults (PH test on all 13 Cox fits, Firth for separated terms);
- ``all``: compare_by ltr and dpr_hi (Table 1 × 2 with χ²/Fisher/Wilcoxon), rmst_tau 24,
  response (an l2_best_response column is added), firth "all" (12 univariate + the
  multivariable Firth fits with profile CIs and penalised LR tests).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as python -m analytics.stats does

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analytics.stats import analyze  # noqa: E402
from analytics.stats.plan import reference_plan  # noqa: E402
from benchmarks.engine import make_cohort  # noqa: E402

OPTIONS = {
    "none": {"ph_test": False, "firth": False},
    "default": {},
    "all": {
        "compare_by": ["ltr", "dpr_hi"],
        "rmst_tau": 24,
        "response": True,
        "firth": "all",
    },
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    print("| n | options | wall s | CPU s |")
    print("|---:|---|---:|---:|")
    for n in args.sizes:
        patients, ae = make_cohort(n)
        rng = np.random.default_rng(1)
        patients["l2_best_response"] = rng.choice(
            ["CR", "PR", "SD", "PD", "NE"], n, p=[0.02, 0.15, 0.35, 0.4, 0.08]
        )
        for name, options in OPTIONS.items():
            plan = reference_plan()
            plan["km_ci"] = "log-log"
            plan.update(options)
            walls, cpus = [], []
            for _ in range(args.repeats):
                w0, c0 = time.perf_counter(), time.process_time()
                analyze(patients, ae, plan)
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
            print(
                f"| {n:,} | {name} | {statistics.median(walls):.2f} | "
                f"{statistics.median(cpus):.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
