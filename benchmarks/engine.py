"""Time the engine's whole command against R survival doing the same work, on the same files.

    .venv/bin/python benchmarks/engine.py [--sizes 1000 10000 100000] [--repeats 3]

For each n: generate a synthetic cohort (fixed seed; the contract's columns, 12 binary
covariates of the reference plan, OS and PFS, ~4 adverse events per patient), write CSVs,
then run ``python -m analytics.stats --reference-plan`` (km_ci log-log so R does the same
interval) and ``Rscript benchmarks/engine.R`` as child processes. Wall time includes start-up
and CSV reading; peak memory is the child's ru_maxrss (os.wait4). Median of the repeats.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
TERMS = [
    "Cough",
    "Dyspnea",
    "Pneumonitis",
    "Interstitial lung disease",
    "Pyrexia",
    "Fatigue",
    "Rash",
    "Alopecia",
    "Pruritus",
    "Insomnia",
    "Nausea",
    "Decreased appetite",
    "Vomiting",
    "Constipation",
    "Diarrhea",
    "Anemia",
    "Neutropenia",
    "Thrombocytopenia",
    "Hypothyroidism",
    "Hyperthyroidism",
]


def make_cohort(n: int, seed: int = 12345) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthetic patients and adverse events shaped like the contract's tables."""
    rng = np.random.default_rng(seed)
    b = lambda p: (rng.uniform(size=n) < p).astype(int)  # noqa: E731
    liver = b(0.32)
    l1 = np.round(rng.exponential(6, n), 2)
    dpr = np.round(rng.normal(29, 25, n), 1)
    lin = -0.8 * liver - 0.5 * (l1 >= 6) - 0.4 * (dpr >= 29) + 0.1 * b(0.5)
    os_true = rng.exponential(20 / np.exp(lin))
    cens = rng.uniform(6, 48, n)
    pfs_true = np.minimum(os_true, rng.exponential(6 / np.exp(lin)))
    patients = pd.DataFrame(
        {
            "study_id": [f"S{i:07d}" for i in range(n)],
            "center": rng.choice([f"C{i}" for i in range(1, 7)], n),
            "age_years": np.round(rng.normal(63, 9, n), 1),
            "sex": rng.choice(["M", "F"], n, p=[0.8, 0.2]),
            "smoking": rng.choice(["never", "former", "current"], n, p=[0.2, 0.5, 0.3]),
            "bmi": np.round(rng.normal(22.5, 3.5, n), 1),
            "ecog": rng.choice([0, 1, 2], n, p=[0.3, 0.6, 0.1]),
            "brain_mets": b(0.5),
            "liver_mets": liver,
            "prior_thoracic_rt": b(0.4),
            "l2_radiotherapy": b(0.2),
            "l2_antiangiogenic": b(0.4),
            "l1_pfs_months": l1,
            "dpr_pct": dpr,
            "os_months": np.round(np.minimum(os_true, cens), 3),
            "os_event": (os_true <= cens).astype(int),
            "pfs_months": np.round(np.minimum(pfs_true, cens), 3),
            "pfs_event": (pfs_true <= cens).astype(int),
        }
    )
    k = rng.poisson(4, n)
    m = int(k.sum())
    ae = pd.DataFrame(
        {
            "study_id": np.repeat(patients["study_id"].to_numpy(), k),
            "term": rng.choice(TERMS, m),
            "grade": rng.choice([1, 2, 3, 4, 5], m, p=[0.55, 0.3, 0.12, 0.02, 0.01]),
            "immune_related": (rng.uniform(size=m) < 0.15).astype(int),
            "onset_day": rng.integers(1, 400, m),
        }
    )
    return patients, ae


def run_child(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + sys) and peak RSS (MB) of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({proc.returncode}): {err[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # Linux: KiB


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-r", action="store_true")
    args = ap.parse_args(argv)
    rscript = None if args.no_r else shutil.which("Rscript")
    tmp = Path(tempfile.mkdtemp(prefix="engine-bench-"))
    plan = json.loads((ROOT / "analytics/stats/reference_plan.json").read_text())
    plan["km_ci"] = "log-log"
    (tmp / "plan.json").write_text(json.dumps(plan))
    rows = []
    print(
        f"{'n':>9} {'engine s':>9} {'R s':>8} {'ratio':>6} {'eng cpu':>8} {'R cpu':>8} "
        f"{'cpu ratio':>9} {'engine MB':>10} {'R MB':>7}"
    )
    for n in args.sizes:
        patients, ae = make_cohort(n)
        pp, ap_ = tmp / f"patients_{n}.csv", tmp / f"ae_{n}.csv"
        patients.to_csv(pp, index=False)
        ae.to_csv(ap_, index=False)
        del patients, ae
        reps = args.repeats if n <= 100_000 else 1
        eng = [
            run_child(
                [
                    sys.executable,
                    "-m",
                    "analytics.stats",
                    "--patients",
                    str(pp),
                    "--adverse-events",
                    str(ap_),
                    "--plan",
                    str(tmp / "plan.json"),
                    "--out",
                    str(tmp / f"bundle_{n}.json"),
                ]
            )
            for _ in range(reps)
        ]
        e_s = statistics.median(w for w, _, _ in eng)
        e_cpu = statistics.median(c for _, c, _ in eng)
        e_mb = max(m for _, _, m in eng)
        if rscript:
            rr = [
                run_child([rscript, str(ROOT / "benchmarks/engine.R"), str(pp), str(ap_)])
                for _ in range(reps)
            ]
            r_s = statistics.median(w for w, _, _ in rr)
            r_cpu = statistics.median(c for _, c, _ in rr)
            r_mb = max(m for _, _, m in rr)
        else:
            r_s = r_cpu = r_mb = float("nan")
        rows.append((n, e_s, r_s, e_s / r_s, e_cpu, r_cpu, e_mb, r_mb))
        print(
            f"{n:>9} {e_s:>9.2f} {r_s:>8.2f} {e_s / r_s:>6.3f} {e_cpu:>8.2f} {r_cpu:>8.2f} "
            f"{e_cpu / r_cpu:>9.3f} {e_mb:>10.0f} {r_mb:>7.0f}",
            flush=True,
        )
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
