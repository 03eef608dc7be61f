"""The engine's two input tables, built from the locked casebooks only.

``load_casebooks`` reads one query per CRF table, so building the tables costs the same
number of queries for 5 patients as for 100,000 (tests/analytics/test_datasets.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analytics.stats.bundle import dataset_sha256
from registry import choices as c
from registry.casebook import load_casebooks
from registry.models import Patient

# analysis-contract.md sections 1 and 2, in the contract's order.
PATIENT_COLUMNS = [
    "study_id",
    "center",
    "age_years",
    "sex",
    "smoking",
    "bmi",
    "ecog",
    "brain_mets",
    "liver_mets",
    "prior_thoracic_rt",
    "l2_radiotherapy",
    "l2_antiangiogenic",
    "l1_pfs_months",
    "dpr_pct",
    "os_months",
    "os_event",
    "pfs_months",
    "pfs_event",
]
AE_COLUMNS = ["study_id", "term", "grade", "immune_related", "onset_day"]
# Nullable integer columns stay integers (a blank does not turn 0/1 into 0.0/1.0).
INT_COLUMNS = [
    "ecog",
    "brain_mets",
    "liver_mets",
    "prior_thoracic_rt",
    "l2_radiotherapy",
    "l2_antiangiogenic",
    "os_event",
    "pfs_event",
]


@dataclass
class AnalysisTables:
    patients: pd.DataFrame
    adverse_events: pd.DataFrame
    n_locked: int

    @property
    def n_analysed(self) -> int:
        return len(self.patients)

    def sha256(self) -> str:
        """The engine's dataset hash (canonical CSV of both tables), as printed in the bundle."""
        return dataset_sha256(self.patients, self.adverse_events)


def locked_patients():
    return Patient.objects.filter(casebook_status=c.CasebookStatus.LOCKED).select_related("center")


def empty_patient_table() -> pd.DataFrame:
    """A contract-shaped patient table with no rows (what plan validation runs against)."""
    return _patient_frame([])


def _patient_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(rows, columns=PATIENT_COLUMNS)
    for column in INT_COLUMNS:
        frame[column] = frame[column].astype("Int64")
    for column in ("age_years", "bmi", "l1_pfs_months", "dpr_pct", "os_months", "pfs_months"):
        frame[column] = frame[column].astype("float64")
    return frame


def build_analysis_tables() -> AnalysisTables:
    """Patient and adverse-event tables of every locked casebook that has a 2L start."""
    books = load_casebooks(locked_patients())
    patient_rows: list[dict] = []
    ae_rows: list[dict] = []
    for book in books:
        row = book.analysis_row()
        # A locked casebook without the 2L index has no survival times; the dashboard
        # reports it as locked but not analysed rather than inventing a date.
        if row is None:
            continue
        patient_rows.append(row)
        ae_rows.extend(book.adverse_event_rows())
    patients = _patient_frame(patient_rows)
    adverse_events = pd.DataFrame.from_records(ae_rows, columns=AE_COLUMNS)
    adverse_events["grade"] = adverse_events["grade"].astype("Int64")
    adverse_events["immune_related"] = adverse_events["immune_related"].astype("Int64")
    adverse_events["onset_day"] = adverse_events["onset_day"].astype("Int64")
    return AnalysisTables(patients=patients, adverse_events=adverse_events, n_locked=len(books))
