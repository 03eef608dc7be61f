"""Build the reference-shaped 28-patient fixture (reference_*.csv beside this file).

Run once: ``python tests/analytics/stats/data/make_reference.py``; the CSVs are committed.
Counts follow seed-cohort.md's Table 1 and Table 3, with its guidance where the article
disagrees with itself:
- DpR >= 29 %: 16 patients (the text), not Table 1's impossible 12; 4 patients sit exactly
  at 29.0 so the cohort median is 29.0 and 16 lie at or above it.
- liver metastases 9, 2L radiotherapy 6 (Table 1, not the text).
- grade 3–5 "any": 4 patients (the text, and 4/28 = 14.3 % as Table 3 prints); Table 3's
  per-term grade 3 counts (dyspnea 1, rash 1, decreased appetite 2, severe skin reaction 1)
  are kept by giving the rash and the severe skin reaction to the same patient.
- immune-related AEs: 6 patients = 21.4 % (Table 3's 21.5 is a rounding slip): the 5
  thyroiditis patients and the severe skin reaction; pneumonitis is not flagged immune
  related here (in this cohort it follows thoracic radiotherapy).
Survival times: 15 deaths and 16 progressions; times are searched (fixed seed) so the
medians land near the article's (OS 18.87, PFS 4.07, LTR 19.98 / STR 8.68, DpR hi 21.84 /
lo 14.63) — near, not equal: the article's subgroup medians do not all fit one dataset.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[3]))

from analytics.stats.km import km_fit, median_spss  # noqa: E402

N = 28
rng = np.random.default_rng(20240411)


def spread(counts: dict, rng: np.random.Generator) -> np.ndarray:
    vals = np.concatenate([[k] * v for k, v in counts.items()])
    return rng.permutation(vals)


def med(t: np.ndarray, e: np.ndarray) -> float:
    m = median_spss(km_fit(t, e, "spss"))[0]
    return np.nan if m is None else m


def main() -> None:
    ids = [f"REF-{i:02d}" for i in range(1, N + 1)]
    ages = np.array([42, 45, 48, 50, 52, 54, 55.0, 56.2, 58, 60, 61, 62, 63, 64.5, 65.5, 66,
                     67, 68, 68.5, 68.8, 69, 69, 70, 71, 72, 74, 76, 79])  # fmt: skip
    dpr_low = np.array([-12.0, -5, 0, 4, 8, 11, 15, 18, 21, 24, 26, 28])
    dpr_high = np.array([29.0, 29, 29, 29, 33, 37, 41, 45, 50, 54, 58, 62, 67, 72, 80, 88])
    # OS: 15 deaths (the 14th at 18.87 makes the SPSS median 18.87), 13 alive at the data cut
    # four patients are censored between the 14th and 15th deaths so that S falls to 0.45
    # at the 15th: SPSS's density estimate needs that point, else the CI is not estimable
    death_times = np.array([2.3, 3.9, 5.1, 6.4, 7.2, 8.68, 9.9, 11.5, 13.2, 14.63, 15.28,
                            16.4, 17.6, 18.87, 21.84])  # fmt: skip
    censor_times = np.array([19.2, 19.98, 20.4, 21.1, 22.0, 22.4, 22.8, 22.8, 23.1, 23.5,
                             23.9, 24.1, 24.4])  # fmt: skip
    os_t = np.concatenate((death_times, censor_times))
    os_e = np.concatenate((np.ones(15), np.zeros(13)))

    def score_of(grp: np.ndarray, target: tuple[float, float]) -> float:
        sc = 0.0
        for val, tgt in zip((1, 0), target, strict=True):
            m = med(os_t[grp == val], os_e[grp == val])
            sc += 25.0 if np.isnan(m) else (np.log(m) - np.log(tgt)) ** 2
        return sc

    def climb(n_one: int, target: tuple[float, float]) -> np.ndarray:
        # hill climb by swapping one member in and one out (fixed seed: reproducible)
        grp = np.zeros(N)
        grp[rng.choice(N, n_one, replace=False)] = 1
        best = score_of(grp, target)
        for _ in range(1500):
            i = rng.choice(np.flatnonzero(grp == 1))
            j = rng.choice(np.flatnonzero(grp == 0))
            grp[i], grp[j] = 0, 1
            sc = score_of(grp, target)
            if sc <= best:
                best = sc
            else:
                grp[i], grp[j] = 1, 0
        return grp

    ltr = climb(12, (19.98, 8.68))
    dpr_hi = climb(16, (21.84, 14.63))

    l1_pfs = np.where(
        ltr == 1, rng.uniform(6.0, 14.0, N).round(2), rng.uniform(2.0, 5.9, N).round(2)
    )
    dpr = np.empty(N)
    dpr[dpr_hi == 1] = rng.permutation(dpr_high)
    dpr[dpr_hi == 0] = rng.permutation(dpr_low)
    # liver metastases: 9, placed on long survivors (the article's HR 0.12)
    liver = np.zeros(N, dtype=int)
    liver[rng.choice(np.arange(12, N), 9, replace=False)] = 1

    # PFS: 16 progressions (all before death); SPSS median near 4.07
    pfs_prog = np.array([0.9, 1.15, 1.6, 2.1, 2.6, 3.0, 3.4, 3.8, 4.07, 4.6, 5.3, 6.98, 7.9,
                         9.2, 10.8, 12.5])  # fmt: skip
    # most non-progressors were censored early (last assessment), as a 4-month median
    # with only 16 progressions in 28 patients requires
    pfs_t = np.empty(N)
    pfs_e = np.zeros(N, dtype=int)
    order = np.argsort(os_t)  # earliest deaths progress earliest
    prog_pat = order[:16]
    for k, i in enumerate(prog_pat):
        pfs_t[i] = min(pfs_prog[k], os_t[i])
        pfs_e[i] = 1
    rest = order[16:]
    pfs_t[rest] = np.round(rng.uniform(0.5, 2.6, len(rest)), 2)
    # the one death among "rest" without recorded progression is censored at last scan

    patients = pd.DataFrame(
        {
            "study_id": ids,
            "center": [f"C{(i % 6) + 1}" for i in range(N)],
            "age_years": rng.permutation(ages),
            "sex": spread({"M": 24, "F": 4}, rng),
            "smoking": spread({"never": 6, "former": 14, "current": 8}, rng),
            "bmi": rng.permutation(
                np.concatenate(
                    (
                        rng.uniform(16.5, 18.4, 3),
                        rng.uniform(18.5, 23.9, 16),
                        rng.uniform(24.0, 29.0, 9),
                    )
                ).round(1)
            ),
            "ecog": spread({0: 8, 1: 18, 2: 2}, rng),
            "brain_mets": spread({1: 15, 0: 13}, rng),
            "liver_mets": liver,
            "prior_thoracic_rt": spread({1: 12, 0: 16}, rng),
            "l2_radiotherapy": spread({1: 6, 0: 22}, rng),
            "l2_antiangiogenic": spread({1: 11, 0: 17}, rng),
            "l1_pfs_months": l1_pfs,
            "dpr_pct": dpr,
            "os_months": os_t,
            "os_event": os_e.astype(int),
            "pfs_months": pfs_t,
            "pfs_event": pfs_e,
        }
    )
    patients.to_csv(HERE / "reference_patients.csv", index=False)

    # ---- adverse events per Table 3 (term: any-grade patients, grade-3 patients) ----
    table3 = [
        ("Cough", 10, 0), ("Dyspnea", 10, 1), ("Pyrexia", 3, 0), ("Fatigue", 5, 0),
        ("Rash", 4, 1), ("Alopecia", 4, 0), ("Pruritus", 4, 0), ("Insomnia", 1, 0),
        ("Nausea", 9, 0), ("Decreased appetite", 10, 2), ("Vomiting", 7, 0),
        ("Constipation", 3, 0), ("Diarrhea", 2, 0), ("Anemia", 4, 0), ("Neutropenia", 3, 0),
        ("Thrombocytopenia", 2, 0),
    ]  # fmt: skip
    rows = []
    cursor = 0

    def take(k: int) -> list[str]:
        nonlocal cursor
        out = [ids[(cursor + j) % N] for j in range(k)]
        cursor = (cursor + k) % N
        return out

    severe_patient = "REF-07"
    for term, n_any, n_g3 in table3:
        if term == "Rash":
            pats = [severe_patient] + [p for p in take(4) if p != severe_patient][:3]
        else:
            pats = [p for p in take(n_any + 1) if p != severe_patient][:n_any]
            if term == "Dyspnea" or term == "Decreased appetite":
                pats = pats[:n_any]
        for j, p in enumerate(pats):
            g3 = j < n_g3
            rows.append((p, term, 3 if g3 else 1 + (j % 2), 0, 10 + 7 * j))
            if j == 1 and not g3:  # a repeat of the same term: counted once, at worst grade
                rows.append((p, term, 1, 0, 40 + j))
    # Pneumonitis group: 10 patients, one with two member terms (counts once)
    pneu = take(10)
    for j, p in enumerate(pneu):
        term = (
            ["Pneumonitis"] * 6
            + ["Interstitial lung disease"] * 2
            + ["Pulmonary fibrosis", "Acute interstitial pneumonitis"]
        )[j]
        rows.append((p, term, 1 + (j % 2), 0, 30 + j))
    rows.append((pneu[0], "Interstitial lung disease", 2, 0, 90))
    # Thyroiditis group: 5 patients, immune related; one had hypo- then hyperthyroidism
    thy = [p for p in take(6) if p != severe_patient][:5]
    for j, p in enumerate(thy):
        rows.append((p, "Hypothyroidism" if j < 4 else "Hyperthyroidism", 2, 1, 60 + j))
    rows.append((thy[0], "Hyperthyroidism", 1, 1, 45))
    # Severe skin reaction: 1 patient, grade 3, immune related (same patient as grade-3 rash)
    rows.append((severe_patient, "Severe skin reaction", 3, 1, 21))
    ae = pd.DataFrame(rows, columns=["study_id", "term", "grade", "immune_related", "onset_day"])
    ae.to_csv(HERE / "reference_adverse_events.csv", index=False)

    print("OS median", med(os_t, os_e), "PFS median", med(pfs_t, pfs_e))
    print("OS spss", median_spss(km_fit(os_t, os_e, "spss")))
    for name, g in (("ltr", ltr), ("dpr_hi", dpr_hi)):
        print(name, med(os_t[g == 1], os_e[g == 1]), med(os_t[g == 0], os_e[g == 0]))
    print("AE rows", len(ae), "patients with AE", ae.study_id.nunique())
    print("grade>=3 patients", ae[ae.grade >= 3].study_id.nunique())


if __name__ == "__main__":
    main()
