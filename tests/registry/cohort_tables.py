"""Hand-rolled Table 1 / Table 3 counts and a Kaplan-Meier median, to check the demo cohort
against seed-cohort.md independently of the analytics engine."""

from __future__ import annotations

from collections import Counter

import numpy as np

# Table 1 of seed-cohort.md, with the DpR split of its text (16 >= 29%, 12 < 29%).
TABLE_1 = {
    "age > 60": 18,
    "male": 24,
    "smoker": 22,
    "BMI < 18.5": 3,
    "BMI 18.5-23.9": 16,
    "BMI >= 24": 9,
    "ECOG 0": 8,
    "ECOG 1": 18,
    "ECOG 2": 2,
    "prior thoracic RT": 12,
    "brain metastasis": 15,
    "liver metastasis": 9,
    "2L radiotherapy": 6,
    "2L anti-angiogenic": 11,
    "STR": 16,
    "LTR": 12,
    "DpR >= median": 16,
    "DpR < median": 12,
}

# Table 3: patients per term at any grade and at grade >= 3 (worst grade per patient).
TABLE_3_ANY = {
    "Cough": 10, "Dyspnea": 10, "Pneumonitis (group)": 10, "Fever": 3, "Fatigue": 5,
    "Rash maculo-papular": 4, "Alopecia": 4, "Pruritus": 4, "Insomnia": 1, "Nausea": 9,
    "Anorexia": 10, "Vomiting": 7, "Constipation": 3, "Diarrhea": 2, "Anemia": 4,
    "Neutrophil count decreased": 3, "Platelet count decreased": 2, "Thyroiditis (group)": 5,
    "Erythema multiforme": 1,
}  # fmt: skip
TABLE_3_GRADE_3 = {"Dyspnea": 1, "Rash maculo-papular": 1, "Anorexia": 2, "Erythema multiforme": 1}
GROUPS = {
    "Pneumonitis (group)": {
        "Pneumonitis",
        "Interstitial lung disease",
        "Pulmonary fibrosis",
        "Acute interstitial pneumonitis",
    },
    "Thyroiditis (group)": {"Hypothyroidism", "Hyperthyroidism", "Thyroiditis"},
}


def table1_counts(rows: list[dict]) -> dict[str, int]:
    dpr_median = float(np.median([r["dpr_pct"] for r in rows]))
    tests = {
        "age > 60": lambda r: r["age_years"] > 60,
        "male": lambda r: r["sex"] == "M",
        "smoker": lambda r: r["smoking"] in ("former", "current"),
        "BMI < 18.5": lambda r: r["bmi"] < 18.5,
        "BMI 18.5-23.9": lambda r: 18.5 <= r["bmi"] < 24,
        "BMI >= 24": lambda r: r["bmi"] >= 24,
        "ECOG 0": lambda r: r["ecog"] == 0,
        "ECOG 1": lambda r: r["ecog"] == 1,
        "ECOG 2": lambda r: r["ecog"] == 2,
        "prior thoracic RT": lambda r: r["prior_thoracic_rt"] == 1,
        "brain metastasis": lambda r: r["brain_mets"] == 1,
        "liver metastasis": lambda r: r["liver_mets"] == 1,
        "2L radiotherapy": lambda r: r["l2_radiotherapy"] == 1,
        "2L anti-angiogenic": lambda r: r["l2_antiangiogenic"] == 1,
        "STR": lambda r: r["l1_pfs_months"] < 6,
        "LTR": lambda r: r["l1_pfs_months"] >= 6,
        "DpR >= median": lambda r: r["dpr_pct"] >= dpr_median,
        "DpR < median": lambda r: r["dpr_pct"] < dpr_median,
    }
    return {name: sum(1 for r in rows if test(r)) for name, test in tests.items()}


def age_quartiles(rows: list[dict]) -> list[float]:
    """Median, Q1, Q3 by SPSS's rule (R quantile type 6), as the article reports."""
    ages = [r["age_years"] for r in rows]
    return [float(q) for q in np.percentile(ages, [50, 25, 75], method="weibull")]


def worst_grades(ae_rows: list[dict]) -> dict[tuple[str, str], int]:
    worst: dict[tuple[str, str], int] = {}
    for row in ae_rows:
        term = next((g for g, members in GROUPS.items() if row["term"] in members), row["term"])
        key = (row["study_id"], term)
        worst[key] = max(worst.get(key, 0), row["grade"])
    return worst


def ae_counts(ae_rows: list[dict]) -> tuple[Counter, Counter]:
    worst = worst_grades(ae_rows)
    any_grade = Counter(term for _sid, term in worst)
    grade_3 = Counter(term for (_sid, term), grade in worst.items() if grade >= 3)
    return any_grade, grade_3


def km_median(times: list[float], events: list[int]) -> float | None:
    """First time the Kaplan-Meier curve is below 0.5 (None if a step lands on exactly 0.5,
    where R would take a midpoint: the demo is designed to avoid that)."""
    t, e = np.asarray(times), np.asarray(events)
    survival = 1.0
    for time in np.unique(t):
        deaths = int(((t == time) & (e == 1)).sum())
        if deaths:
            survival *= 1 - deaths / int((t >= time).sum())
            if abs(survival - 0.5) < 1e-12:
                return None
            if survival < 0.5:
                return float(time)
    return None
