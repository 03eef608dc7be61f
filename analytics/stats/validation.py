"""Input checks for the engine: one error type, one line naming the column and the row.

Rows are numbered from 1 for the first data row (the line after the CSV header), and the
study_id is quoted when the table has one, so a coordinator can find the cell.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class EngineInputError(ValueError):
    """Bad engine input; str(e) is one line such as "os_months: row 7: negative time -3.0"."""


def _row_label(df: pd.DataFrame, pos: int) -> str:
    label = f"row {pos + 1}"
    if "study_id" in df.columns:
        sid = df["study_id"].iloc[pos]
        if isinstance(sid, str) and sid:
            label += f" (study_id {sid})"
    return label


def fail(df: pd.DataFrame, column: str, pos: int, what: str) -> EngineInputError:
    """Build the one-line error for the cell at (pos, column)."""
    return EngineInputError(f"{column}: {_row_label(df, pos)}: {what}")


def require_columns(df: pd.DataFrame, columns: list[str], table: str, why: dict[str, str]) -> None:
    """Every named column must exist; the message says which and what needs it."""
    for col in columns:
        if col not in df.columns:
            reason = f" (needed by {why[col]})" if col in why else ""
            raise EngineInputError(f"{col}: missing column in the {table} table{reason}")


def numeric_column(df: pd.DataFrame, column: str, what: str = "value") -> np.ndarray:
    """Column as float, blanks → NaN; any other non-number is an error naming the cell."""
    s = df[column]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=float, na_value=np.nan)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna() & s.notna() & (s.astype(str).str.strip() != "")
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise fail(df, column, pos, f"non-numeric {what} {s.iloc[pos]!r}")
    return num.to_numpy(dtype=float, na_value=np.nan)


def time_column(df: pd.DataFrame, column: str) -> np.ndarray:
    """A time: numeric, finite, >= 0 (blank allowed: the patient is left out of the endpoint)."""
    t = numeric_column(df, column, "time")
    bad = np.flatnonzero(np.isinf(t) | (t < 0))
    if len(bad):
        pos = int(bad[0])
        kind = "negative" if t[pos] < 0 else "infinite"
        raise fail(df, column, pos, f"{kind} time {float(t[pos])!r}")
    return t


def binary_column(df: pd.DataFrame, column: str, what: str = "event") -> np.ndarray:
    """A 0/1 column (blank allowed → NaN); anything else is an error naming the cell."""
    v = numeric_column(df, column, what)
    bad = np.flatnonzero(~np.isnan(v) & (v != 0) & (v != 1))
    if len(bad):
        pos = int(bad[0])
        raise fail(df, column, pos, f"{what} must be 0 or 1, got {df[column].iloc[pos]!r}")
    return v


def check_patients(patients: pd.DataFrame) -> dict[str, tuple]:
    """study_id, when present, is non-blank and unique (it keys the adverse events).

    Returns the ``pd.factorize`` of the columns it factorized, for the dataset hash."""
    if "study_id" not in patients.columns:
        return {}
    sid = patients["study_id"]
    codes, uniques = pd.factorize(sid)
    # numpy's C string ufuncs: pandas' .str.strip() was a Python call per patient
    blank_u = np.strings.str_len(np.strings.strip(np.asarray(uniques, dtype=str))) == 0
    blank = (codes < 0) | blank_u[np.maximum(codes, 0)]
    if blank.any():
        raise fail(patients, "study_id", int(np.flatnonzero(blank)[0]), "blank study_id")
    if len(uniques) < len(codes):
        # factorize numbers values in order of first appearance, so a row repeats an
        # earlier id when its code is not above every code before it (no second hashing)
        seen = np.concatenate(([-1], np.maximum.accumulate(codes)[:-1]))
        pos = int(np.flatnonzero(codes <= seen)[0])
        raise fail(patients, "study_id", pos, f"duplicate study_id {sid.iloc[pos]!r}")
    return {"study_id": (codes, uniques)}


AE_COLUMNS = ["study_id", "term", "grade", "immune_related"]


def as_text(values) -> pd.Index:
    """Values as an Index of str (blanks kept as NaN), without converting what is text already:
    a pass of pandas' C type inference instead of a str() call per value."""
    index = pd.Index(values, dtype=object)
    if pd.api.types.infer_dtype(index, skipna=True) in ("string", "empty"):
        return index
    return pd.Index(
        [v if isinstance(v, str) or v is None or v != v else str(v) for v in index], dtype=object
    )


def check_adverse_events(
    ae: pd.DataFrame, patients: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, tuple]]:
    """AE table: study_id known, term non-blank, grade integer 1–5, immune_related 0/1.

    Returns a clean frame — ``patient`` (the event's row in the patient table), term as a
    categorical of stripped text, grade and immune_related as small integers — and the
    ``pd.factorize`` of the columns it factorized, for the dataset hash.
    """
    require_columns(ae, AE_COLUMNS, "adverse-event", {})
    if "study_id" not in patients.columns:
        raise EngineInputError(
            "study_id: missing column in the patient table (needed by the adverse-event table)"
        )
    # factorize first: the checks and the strip then run on the few distinct values only
    # (400,000 events have ~100,000 ids and ~50 terms)
    sid_codes, sid_uniques = pd.factorize(ae["study_id"])  # free for a categorical column
    if (sid_codes < 0).any():
        raise fail(ae, "study_id", int(np.flatnonzero(sid_codes < 0)[0]), "blank study_id")
    # each distinct id's patient row, by a lookup in the (unique, checked) patient ids
    patient_ids = as_text(patients["study_id"])
    if not patient_ids.is_unique:  # check_patients refuses this; ids equal only as text
        raise EngineInputError("study_id: two patients share a study_id (as text)")
    row_of_id = patient_ids.get_indexer(as_text(np.asarray(sid_uniques)))
    if (row_of_id < 0).any():
        pos = int(np.flatnonzero(row_of_id[sid_codes] < 0)[0])
        raise fail(ae, "study_id", pos, f"unknown study_id {ae['study_id'].iloc[pos]!r}")
    term_codes, term_uniques = pd.factorize(ae["term"])
    if (term_codes < 0).any():
        raise fail(ae, "term", int(np.flatnonzero(term_codes < 0)[0]), "blank term")
    stripped = pd.Index(term_uniques).astype(str).str.strip()
    blank_u = stripped == ""
    if blank_u.any():
        raise fail(ae, "term", int(np.flatnonzero(blank_u[term_codes])[0]), "blank term")
    grade = numeric_column(ae, "grade", "grade")
    bad = np.flatnonzero(np.isnan(grade) | ~np.isin(grade, [1, 2, 3, 4, 5]))
    if len(bad):
        pos = int(bad[0])
        raise fail(ae, "grade", pos, f"grade must be 1–5, got {ae['grade'].iloc[pos]!r}")
    irae = binary_column(ae, "immune_related", "immune_related")
    if np.isnan(irae).any():
        pos = int(np.flatnonzero(np.isnan(irae))[0])
        raise fail(ae, "immune_related", pos, "blank immune_related (must be 0 or 1)")
    if "onset_day" in ae.columns:
        numeric_column(ae, "onset_day", "onset_day")
    # int8 grade and flag beside the int64 patient row: columns of one dtype would be copied
    # into one block by pandas (0.5 s at 3.5 million events)
    clean = pd.DataFrame(
        {
            "patient": row_of_id[sid_codes],
            "term": pd.Categorical.from_codes(
                pd.factorize(stripped)[0][term_codes], pd.unique(stripped)
            ),
            "grade": grade.astype(np.int8),
            "immune_related": irae.astype(np.int8),
        }
    )
    return clean, {"study_id": (sid_codes, sid_uniques), "term": (term_codes, term_uniques)}
