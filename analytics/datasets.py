"""The engine's two input tables, built from the locked casebooks only.

One definition, one fast builder, one store. ``build_analysis_tables_from_casebooks`` is the
definition: ``registry.casebook.load_casebooks`` and ``Casebook.analysis_row`` per patient
(the rules of registry.derived). ``build_analysis_tables_column_wise`` computes the same
tables column-wise with pandas from one ``values_list`` query per CRF table, for any set of
locked patients. Each lock writes its patient's rows with it into ``AnalysisRow`` and
``AnalysisAdverseEventRow``, in the lock's own transaction, and each unlock removes them
(issue 16), so ``build_analysis_tables`` — what a run reads — is two narrow queries however
many casebooks there are. tests/analytics/test_datasets.py and test_analysis_rows.py hold
all three equal (equal tables, equal dataset hash).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
import psycopg
import psycopg.sql
from django.db import connection, transaction

from analytics.models import AnalysisAdverseEventRow, AnalysisRow
from analytics.stats.bundle import dataset_sha256
from registry import choices as c
from registry import derived
from registry.casebook import load_casebooks
from registry.derived import DAYS_PER_MONTH
from registry.models import (
    AdverseEvent,
    Baseline,
    FirstLineTherapy,
    FollowUp,
    Patient,
    SecondLineTherapy,
    TumourAssessment,
)

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
    # contract §7: RECIST 1.1 best overall response on the second line (CR/PR/SD/PD/NE)
    "l2_best_response",
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


def _patient_frame(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    frame = (
        rows[PATIENT_COLUMNS].copy()
        if isinstance(rows, pd.DataFrame)
        else pd.DataFrame.from_records(rows, columns=PATIENT_COLUMNS)
    )
    for column in INT_COLUMNS:
        values = frame[column]
        if values.dtype == "float64":
            frame[column] = _whole_numbers(values)
        else:
            frame[column] = pd.array(
                values.astype(object).where(values.notna(), None), dtype="Int64"
            )
    for column in ("age_years", "bmi", "l1_pfs_months", "dpr_pct", "os_months", "pfs_months"):
        frame[column] = frame[column].astype("float64")
    frame["l2_best_response"] = (
        frame["l2_best_response"].astype(object).where(frame["l2_best_response"].notna(), None)
    )
    return frame


def _whole_numbers(values: pd.Series) -> pd.array:
    """Floats with NaN for blanks (the stored rows as read by COPY) as nullable integers, in
    a few vectorised steps: pandas' own conversion checks value by value (about 0.1 s for
    the eight columns at 100,000 rows). A fraction is refused, as pandas refuses it."""
    numbers = values.to_numpy()
    blank = np.isnan(numbers)
    whole = np.nan_to_num(numbers, nan=0.0).astype(np.int64)
    if not np.all((whole == numbers) | blank):
        raise ValueError(f"{values.name}: a value is not a whole number")
    return pd.arrays.IntegerArray(whole, blank)


def build_analysis_tables_from_casebooks() -> AnalysisTables:
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
        row["l2_best_response"] = book.l2_best_response()
        patient_rows.append(row)
        ae_rows.extend(book.adverse_event_rows())
    return AnalysisTables(
        patients=_patient_frame(patient_rows),
        adverse_events=_ae_frame(ae_rows),
        n_locked=len(books),
    )


def _ae_frame(rows: list[dict] | pd.DataFrame) -> pd.DataFrame:
    frame = (
        rows[AE_COLUMNS].reset_index(drop=True)
        if isinstance(rows, pd.DataFrame)
        else pd.DataFrame.from_records(rows, columns=AE_COLUMNS)
    )
    for column in ("grade", "immune_related", "onset_day"):
        values = frame[column]
        frame[column] = (
            _whole_numbers(values) if values.dtype == "float64" else values.astype("Int64")
        )
    return frame


def _values(
    queryset, fields: list[str], names: list[str] | None = None, ordering: tuple[str, ...] = ()
) -> pd.DataFrame:
    # Unordered unless asked: the tables are merged by patient id, and sorting 100,000 rows
    # a table would cost the database for nothing.
    return pd.DataFrame.from_records(
        list(queryset.order_by(*ordering).values_list(*fields)), columns=names or fields
    )


def _dates(series: pd.Series) -> pd.Series:
    return pd.to_datetime(series, errors="raise")


def _flag(choice: pd.Series, none_value: str) -> pd.Series:
    """1 when a combination partner was given, 0 for "none", missing (None) when the choice
    carries a missing-data code (stored empty), as ``SecondLineTherapy.has_radiotherapy``."""
    flag = (choice != none_value).astype(int).astype(object)
    return flag.where(choice.notna() & (choice != ""), None)


def _months(start: pd.Series, end: pd.Series) -> pd.Series:
    # derived.months_between: whole days / 30.4375.
    return (end - start).dt.days / DAYS_PER_MONTH


def build_analysis_tables_column_wise(locked=None) -> AnalysisTables:
    """The same tables as ``build_analysis_tables_from_casebooks``, computed column-wise."""
    computed = _column_wise(locked_patients() if locked is None else locked)
    return AnalysisTables(
        patients=_patient_frame(computed.patients),
        adverse_events=_ae_frame(computed.adverse_events),
        n_locked=len(computed.locked),
    )


@dataclass
class _ColumnWise:
    """The tables with the patient's primary key (``pid``) beside each row, and every locked
    patient (analysed or not) with its ordering keys: what the store needs."""

    patients: pd.DataFrame
    adverse_events: pd.DataFrame
    locked: pd.DataFrame


def _column_wise(locked) -> _ColumnWise:
    ids = locked.values("pk")
    patients = _values(
        locked,
        ["pk", "study_id", "center__code", "sequence", "date_of_birth", "sex"],
        ["pid", "study_id", "center", "sequence", "dob", "sex"],
        # The patients' own order (centre, sequence), as load_casebooks reads them: without
        # it the database returns rows in any order and the two tables differ in row order.
        ordering=tuple(Patient._meta.ordering),
    )
    n_locked = len(patients)
    patients["order"] = range(n_locked)
    second = _values(
        SecondLineTherapy.objects.filter(patient_id__in=ids),
        [
            "patient_id",
            "start_date",
            "radiotherapy_site",
            "antiangiogenic_agent",
            "end_date",
            "progression_date",
        ],
        ["pid", "index", "rt_site", "aa_agent", "l2_end", "l2_progression"],
    )
    frame = patients.merge(second, on="pid", how="inner")  # no 2L start: not analysed
    baseline = _values(
        Baseline.objects.filter(patient_id__in=ids),
        ["patient_id", "smoking", "height_cm", "weight_kg", "ecog", "mets_brain", "mets_liver"],
        ["pid", "smoking", "height", "weight", "ecog", "brain", "liver"],
    )
    first = _values(
        FirstLineTherapy.objects.filter(patient_id__in=ids),
        ["patient_id", "thoracic_rt", "start_date", "progression_date"],
        ["pid", "thoracic_rt", "l1_start", "l1_progression"],
    )
    frame = frame.merge(baseline, on="pid", how="left").merge(first, on="pid", how="left")
    frame = frame.sort_values("order", kind="stable").reset_index(drop=True)
    assessments = _values(
        TumourAssessment.objects.filter(patient_id__in=ids),
        ["patient_id", "assessment_date", "line", "target_sum_mm", "overall_response"],
        ["pid", "date", "line", "target", "response"],
    )
    events = _values(
        AdverseEvent.objects.filter(patient_id__in=ids),
        ["patient_id", "pk", "term", "grade", "immune_related", "onset_date", "resolution_date"],
        ["pid", "aid", "term", "grade", "immune_related", "onset", "resolution"],
    )
    follow = _values(
        FollowUp.objects.filter(patient_id__in=ids),
        ["patient_id", "contact_date", "vital_status", "death_date"],
        ["pid", "contact", "vital", "death"],
    )
    for df, cols in (
        (frame, ["dob", "index", "l2_end", "l2_progression", "l1_start", "l1_progression"]),
        (assessments, ["date"]),
        (events, ["onset", "resolution"]),
        (follow, ["contact", "death"]),
    ):
        for col in cols:
            df[col] = _dates(df[col])
    pid = frame["pid"]

    # derived.age_in_years: completed years at the 2L start.
    index, dob = frame["index"], frame["dob"]
    before_birthday = (index.dt.month * 100 + index.dt.day) < (dob.dt.month * 100 + dob.dt.day)
    age = (index.dt.year - dob.dt.year - before_birthday.astype(int)).astype(float)

    # derived.bmi: kg / m².
    metres = frame["height"].astype(float) / 100.0
    bmi = frame["weight"].astype(float) / (metres * metres)

    # derived.depth_of_response_pct over the 1L assessments.
    first_line = assessments[assessments["line"] == c.TreatmentLine.FIRST].sort_values(
        ["pid", "date"], kind="stable"
    )
    first_line = first_line.assign(target=first_line["target"].astype(float))
    position = first_line.groupby("pid").cumcount()
    base_sum = first_line[position == 0].set_index("pid")["target"]
    smallest = first_line[position > 0].groupby("pid")["target"].min()
    dpr = ((base_sum - smallest) / base_sum * 100.0).where(base_sum > 0)

    # Death: the earliest reported death date.
    death = follow.groupby("pid")["death"].min().reindex(pid).to_numpy()
    death = pd.Series(death, index=frame.index)

    # derived.last_known_alive: latest date seen or reported alive (the 2L start at least).
    seen = pd.concat(
        [
            follow.loc[follow["vital"] == c.VitalStatus.ALIVE, ["pid", "contact"]].set_axis(
                ["pid", "d"], axis=1
            ),
            assessments[["pid", "date"]].set_axis(["pid", "d"], axis=1),
            frame[["pid", "index"]].set_axis(["pid", "d"], axis=1),
            frame[["pid", "l2_end"]].set_axis(["pid", "d"], axis=1),
            frame[["pid", "l2_progression"]].set_axis(["pid", "d"], axis=1),
            events[["pid", "onset"]].set_axis(["pid", "d"], axis=1),
            events[["pid", "resolution"]].set_axis(["pid", "d"], axis=1),
        ]
    )
    alive = pd.Series(seen.groupby("pid")["d"].max().reindex(pid).to_numpy(), index=frame.index)
    alive = alive.fillna(index)

    # derived.overall_survival and progression_free_survival.
    died = death.notna()
    os_end = death.where(died, alive)
    last_2l = (
        assessments[assessments["line"] == c.TreatmentLine.SECOND].groupby("pid")["date"].max()
    )
    last_2l = pd.Series(last_2l.reindex(pid).to_numpy(), index=frame.index)
    pfs_event_date = pd.concat([frame["l2_progression"], death], axis=1).min(axis=1)
    censor = pd.concat([last_2l.fillna(index), index], axis=1).max(axis=1)
    has_pfs_event = pfs_event_date.notna()

    # derived.best_overall_response over the 2L assessments from the 2L start: ranks
    # CR 4 > PR 3 > SD 2 > PD 1 > NE 0, SD before SD_MIN_DAYS counts as NE, and nothing after
    # the first PD counts.
    second_line = assessments[assessments["line"] == c.TreatmentLine.SECOND]
    second_line = second_line.assign(start=second_line["pid"].map(frame.set_index("pid")["index"]))
    second_line = second_line[second_line["date"] >= second_line["start"]]
    first_pd = second_line[second_line["response"] == "PD"].groupby("pid")["date"].min()
    upto = second_line["pid"].map(first_pd)
    second_line = second_line[upto.isna() | (second_line["date"] <= upto)]
    # An overall response under a missing-data code is not evaluable (NE, rank 0).
    rank = second_line["response"].map(derived.RESPONSE_RANK).fillna(0)
    early_sd = (second_line["response"] == "SD") & (
        (second_line["date"] - second_line["start"]).dt.days < derived.SD_MIN_DAYS
    )
    best = rank.where(~early_sd, 0).groupby(second_line["pid"]).max()
    code_of_rank = {rank: code for code, rank in derived.RESPONSE_RANK.items()}
    best_response = pd.Series(best.reindex(pid).to_numpy(), index=frame.index).map(code_of_rank)

    rows = pd.DataFrame(
        {
            "pid": pid,
            "study_id": frame["study_id"],
            "center": frame["center"],
            "age_years": age,
            "sex": frame["sex"],
            # A value under a missing-data code is stored empty: missing to the engine.
            "smoking": frame["smoking"].where(
                frame["smoking"].notna() & (frame["smoking"] != ""), None
            ),
            "bmi": bmi,
            "ecog": frame["ecog"],
            "brain_mets": frame["brain"],
            "liver_mets": frame["liver"],
            "prior_thoracic_rt": frame["thoracic_rt"],
            "l2_radiotherapy": _flag(frame["rt_site"], c.RadiotherapySite.NONE),
            "l2_antiangiogenic": _flag(frame["aa_agent"], c.AntiangiogenicAgent.NONE),
            "l1_pfs_months": _months(frame["l1_start"], frame["l1_progression"]),
            "dpr_pct": pd.Series(dpr.reindex(pid).to_numpy(), index=frame.index),
            "os_months": _months(index, os_end),
            "os_event": died.astype(int),
            "pfs_months": _months(index, pfs_event_date.where(has_pfs_event, censor)),
            "pfs_event": has_pfs_event.astype(int),
            "l2_best_response": best_response,
        }
    )

    # Adverse events of the analysed patients, in load_casebooks' order (patient, onset, pk).
    order = frame.set_index("pid")["order"]
    events = events[events["pid"].isin(order.index)]
    events = events.assign(order=events["pid"].map(order)).sort_values(
        ["order", "onset", "aid"], kind="stable"
    )
    starts = frame.set_index("pid")["index"]
    ae_rows = pd.DataFrame(
        {
            "pid": events["pid"],
            "study_id": events["pid"].map(frame.set_index("pid")["study_id"]),
            "term": events["term"],
            "grade": events["grade"],
            "immune_related": events["immune_related"].astype(int),
            "onset_day": (events["onset"] - events["pid"].map(starts)).dt.days,
        }
    )
    return _ColumnWise(
        patients=rows,
        adverse_events=ae_rows,
        locked=patients[["pid", "study_id", "center", "sequence"]],
    )


# --- The stored rows (issue 16) -------------------------------------------------------------

_ORDER = ("center", "sequence")
_REBUILD_BATCH = 20_000  # patients per batch: bounds the memory of a rebuild at 1,000,000


def build_analysis_tables() -> AnalysisTables:
    """The tables a run computes on: the stored rows, a few queries whatever the cohort's size.

    Should the stored rows not count one per locked casebook (an upgrade from a version
    without them, or a status changed behind the services' back), they are rebuilt first.
    """
    with _one_snapshot():
        if AnalysisRow.objects.count() == locked_patients().count():
            return stored_analysis_tables()
    analysis_rows_rebuild()
    return stored_analysis_tables()


@contextlib.contextmanager
def _one_snapshot():
    """Reads that see one moment of the database. A lock that commits between the patient
    query and the adverse-event query must not give adverse events of a patient the
    patient table lacks (the engine refuses them), nor an unlock the reverse."""
    # Inside an outer transaction (a test's, a caller's) its isolation level holds. Reads
    # need no savepoint (and a snapshot cannot be exported from one: _beside).
    outermost = not connection.in_atomic_block
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql" and outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def stored_analysis_tables() -> AnalysisTables:
    with _one_snapshot():
        if connection.vendor == "postgresql":
            tables = _stored_tables_in_bulk()
            if tables is not None:
                return tables
        patients = _stored_values(
            AnalysisRow.objects.all(), ["analysed", *PATIENT_COLUMNS], ordering=_ORDER
        )
        events = _stored_values(
            AnalysisAdverseEventRow.objects.all(), AE_COLUMNS, ordering=(*_ORDER, "position")
        )
    analysed = patients[patients["analysed"].astype(bool)].reset_index(drop=True)
    return AnalysisTables(
        patients=_patient_frame(analysed),
        adverse_events=_ae_frame(events),
        n_locked=len(patients),
    )


# Between two rows of a text column sent as one value. Text holding it (never in the
# registry's codes and ids) sends the read down the COPY path.
_ROW_SEPARATOR = "\x1e"


def _stored_tables_in_bulk() -> AnalysisTables | None:
    """The stored tables with each column sent by PostgreSQL as one value: a number column as
    the concatenated 8-byte binary floats of its rows (exact bits, no parsing; NULL as NaN),
    a text column as one string. COPY delivered a message per row — 4.5 million at 1,000,000
    patients — and pandas then parsed every float at round-trip precision.

    The patient rows come in the database's (centre, sequence) order (an index scan). The
    events are sent unordered and put in that order here: by their patient's row, then
    ``position`` — the same order, (centre, sequence) being one patient — which spares the
    database a sort of 3.5 million rows (on disk, with the default work_mem). Their
    study_id is their patient's (the lock writes both from the same row), taken from the
    patient rows instead of being sent 3.5 million times. The frames equal those of the
    COPY path (tests/analytics/test_analysis_rows.py). None when a text value holds the
    separator: the caller then reads with COPY.
    """
    event_fields = ["patient", "position", "term", "grade", "immune_related", "onset_day"]
    with _beside(
        lambda reader: _stored_columns(AnalysisAdverseEventRow, event_fields, (), reader)
    ) as events_read:
        stored = _stored_columns(AnalysisRow, ["patient", "analysed", *PATIENT_COLUMNS], _ORDER)
        events = events_read()
    if stored is None or events is None:
        return None
    n_locked = len(stored["patient"])
    analysed = stored["analysed"] == 1
    if not analysed.all():
        stored = {name: values[analysed] for name, values in stored.items()}
    patients: dict[str, object] = {}
    for column in PATIENT_COLUMNS:
        values = stored[column]
        if column in INT_COLUMNS:
            values = _whole_numbers(pd.Series(values, name=column, copy=False))
        patients[column] = values
    # an event's patient is among the analysed (events are stored for those only)
    whose = _rows_of(stored["patient"], events["patient"])
    if (whose < 0).any():  # cannot be (same transaction, one snapshot); be safe, not fast
        return None
    position = events["position"].astype(np.int64)
    # stable: timsort, close to linear on rows stored nearly in this order already
    order = np.argsort(whose * (int(position.max(initial=0)) + 1) + position, kind="stable")
    adverse_events = {
        "study_id": stored["study_id"][whose[order]],
        "term": events["term"][order],
        **{
            column: _whole_numbers(pd.Series(events[column][order], name=column, copy=False))
            for column in ("grade", "immune_related", "onset_day")
        },
    }
    return AnalysisTables(
        patients=pd.DataFrame(patients, columns=PATIENT_COLUMNS),
        adverse_events=pd.DataFrame(adverse_events, columns=AE_COLUMNS),
        n_locked=n_locked,
    )


@contextlib.contextmanager
def _beside(read):
    """Run read(connection) on a second connection that sees this transaction's snapshot,
    while the caller reads on its own: PostgreSQL builds the two tables' values at once
    (each query is one backend's work, 2–3 s at 1,000,000 patients). Yields a function
    returning read's result. Only in the read-only repeatable-read transaction of
    _one_snapshot, where a second connection can see exactly what this one sees (inside a
    caller's transaction it could not see the caller's own writes); otherwise, or if the
    second connection cannot be had, read runs on this connection when the result is asked.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_setting('transaction_isolation') = 'repeatable read' "
            "AND current_setting('transaction_read_only') = 'on'"
        )
        (alone,) = cursor.fetchone()
        snapshot = None
        # (an atomic block without a savepoint leaves None in savepoint_ids)
        if alone and not any(connection.savepoint_ids):
            cursor.execute("SELECT pg_export_snapshot()")
            (snapshot,) = cursor.fetchone()
    if snapshot is None:
        yield lambda: read(None)
        return

    def on_second_connection():
        params = {**connection.get_connection_params(), "autocommit": True}
        params.pop("cursor_factory", None)
        with psycopg.connect(**params) as other:
            other.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            other.execute(
                psycopg.sql.SQL("SET TRANSACTION SNAPSHOT {}").format(psycopg.sql.Literal(snapshot))
            )
            result = read(other)
            other.execute("COMMIT")
            return result

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(on_second_connection)

        def result():
            try:
                return future.result()
            except psycopg.OperationalError:
                # no second connection (connection limit, a pooler that refuses it): here
                return read(None)

        yield result


def _rows_of(keys: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """The position of each wanted primary key among keys (−1 when absent): a table indexed
    by key when the keys are small integers (3.5 million hash lookups cost 0.3 s)."""
    top = int(max(keys.max(initial=0), wanted.max(initial=0)))
    if keys.min(initial=0) < 0 or wanted.min(initial=0) < 0 or top > 8 * len(keys) + 1_000_000:
        return pd.Index(keys).get_indexer(wanted)
    row = np.full(top + 1, -1, dtype=np.int64)
    row[keys.astype(np.int64)] = np.arange(len(keys))
    return row[wanted.astype(np.int64)]


def _stored_columns(
    model, fields: list[str], ordering: tuple[str, ...], reader: psycopg.Connection | None = None
) -> dict[str, np.ndarray] | None:
    """The model's rows as one array per field, each sent as one aggregate value (see
    _stored_tables_in_bulk), in the order of ``ordering`` (none: as PostgreSQL reads them).
    Text comes as object arrays with None for NULL and, as the CSV reader had it, for ''."""
    meta = model._meta
    quote = connection.ops.quote_name
    aggregates, text = [], set()
    for name in fields:
        field = meta.get_field(name)
        column = quote(field.column)
        kind = field.get_internal_type()
        if kind == "CharField":
            text.add(name)
            aggregates.append(f"string_agg(coalesce({column}, ''), chr(30))")
        else:
            number = f"{column}::int::float8" if kind == "BooleanField" else f"{column}::float8"
            aggregates.append(f"string_agg(float8send(coalesce({number}, 'NaN')), ''::bytea)")
    needed = ", ".join(quote(meta.get_field(name).column) for name in fields)
    order = ", ".join(quote(meta.get_field(name).column) for name in ordering)
    order_by = f" ORDER BY {order}" if order else ""
    # The aggregates take the rows in the subquery's order (one scan, no join or grouping:
    # PostgreSQL feeds them in that order; ORDER BY inside each aggregate would sort each).
    # One aggregate per column: cheaper for PostgreSQL than one per row of several columns.
    # Only the models' own table and column names, quoted, go into the text; no values.
    sql = (
        f"SELECT count(*), {', '.join(aggregates)} "  # noqa: S608
        f"FROM (SELECT {needed} FROM {quote(meta.db_table)}{order_by}) AS stored"
    )
    if reader is None:
        connection.ensure_connection()
        reader = connection.connection
    # A plain psycopg cursor (Django's binds client-side, and such a cursor cannot receive
    # binary results); on Django's connection it is the same transaction and snapshot.
    with psycopg.Cursor(reader) as cursor:
        cursor.execute(sql, binary=True)
        n, *values = cursor.fetchone()
    columns: dict[str, np.ndarray] = {}
    for name, value in zip(fields, values, strict=True):
        if n == 0:
            columns[name] = np.zeros(0, dtype=object if name in text else float)
        elif name in text:
            column = _text_column(value, n, distinct_few=name != "study_id")
            if column is None:
                return None
            columns[name] = column
        else:
            if len(value) != 8 * n:
                raise ValueError(f"{name}: unexpected value from the stored analysis rows")
            columns[name] = np.frombuffer(value, dtype=">f8").astype(np.float64)
    return columns


def _text_column(joined: str, n: int, distinct_few: bool) -> np.ndarray | None:
    """One text value per row (None for ''), or None when a value held the separator."""
    values = np.array(joined.split(_ROW_SEPARATOR), dtype=object)
    if len(values) != n:
        return None
    if not distinct_few:
        values[values == ""] = None
        return values
    # few distinct values (codes): one object each, shared by the rows
    codes, distinct = pd.factorize(values)
    distinct = np.asarray(distinct, dtype=object)
    distinct[distinct == ""] = None
    return distinct[codes]


def _stored_values(queryset, fields: list[str], ordering: tuple[str, ...]) -> pd.DataFrame:
    """Stored rows as a frame. On PostgreSQL they are streamed with COPY and parsed by
    pandas' CSV reader: at 100,000 rows several times faster than building a Python tuple
    per row. Floats survive exactly: PostgreSQL writes the shortest exact form, read back
    with round-trip precision."""
    if connection.vendor != "postgresql":
        return _values(queryset, fields, ordering=ordering)
    rows = queryset.order_by(*ordering).values_list(*fields)
    sql, params = rows.query.sql_with_params()
    if params:  # COPY takes no bound parameters; the stored tables are read whole
        raise ValueError("a stored-rows query with parameters cannot be copied")
    buffer = io.BytesIO()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy,
    ):
        for block in copy:
            buffer.write(block)
    buffer.seek(0)
    meta = queryset.model._meta
    text = [f for f in fields if meta.get_field(f).get_internal_type() in _TEXT_TYPES]
    frame = pd.read_csv(
        buffer,
        names=fields,
        header=None,
        dtype=dict.fromkeys(text, str),
        keep_default_na=False,
        na_values=[""],
        # The default fast parser can miss by one unit in the last place: the dataset hash
        # (and the engine's exact equality with a rebuild) needs every float bit for bit.
        float_precision="round_trip",
    )
    for field in text:
        column = frame[field].astype(object).where(frame[field].notna(), None)
        if meta.get_field(field).get_internal_type() == "BooleanField":
            column = column.map({"t": True, "f": False})
        frame[field] = column
    return frame


_TEXT_TYPES = ("CharField", "BooleanField")


def analysis_rows_refresh(patient_ids) -> None:
    """Write anew the stored rows of these patients: rows for those now locked, none for the
    others. Called inside the transaction of the lock or unlock that changed them."""
    ids = list(patient_ids)
    AnalysisAdverseEventRow.objects.filter(patient_id__in=ids).delete()
    AnalysisRow.objects.filter(patient_id__in=ids).delete()
    _store(_column_wise(locked_patients().filter(pk__in=ids)))


@transaction.atomic
def analysis_rows_rebuild() -> int:
    """Replace every stored row by a rebuild from the locked casebooks; returns how many."""
    if connection.vendor == "postgresql":
        # Locks and unlocks that write their rows meanwhile wait for the rebuild to commit,
        # then replace their patient's rows: no duplicate, none missing.
        with connection.cursor() as cursor:
            cursor.execute(
                f"LOCK TABLE {AnalysisRow._meta.db_table}, "
                f"{AnalysisAdverseEventRow._meta.db_table} IN EXCLUSIVE MODE"
            )
    AnalysisAdverseEventRow.objects.all().delete()
    AnalysisRow.objects.all().delete()
    ids = list(locked_patients().order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), _REBUILD_BATCH):
        batch = ids[start : start + _REBUILD_BATCH]
        _store(_column_wise(locked_patients().filter(pk__in=batch)))
    if connection.vendor == "postgresql":
        # Every row is new: without fresh statistics the planner sorts the adverse-event rows
        # (350,000 at 100,000 patients) instead of reading them in index order, five times
        # slower, on every run until autovacuum gets round to the table.
        with connection.cursor() as cursor:
            for model in (AnalysisRow, AnalysisAdverseEventRow):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return len(ids)


def analysis_rows_differences() -> list[str]:
    """How the stored rows differ from a full rebuild, in words (empty: they are equal)."""
    stored, rebuilt = stored_analysis_tables(), build_analysis_tables_column_wise()
    problems = []
    if stored.n_locked != rebuilt.n_locked:
        problems.append(f"locked casebooks: {stored.n_locked} stored, {rebuilt.n_locked} locked")
    for name in ("patients", "adverse_events"):
        mine, truth = getattr(stored, name), getattr(rebuilt, name)
        missing = sorted(set(truth["study_id"]) - set(mine["study_id"]))
        extra = sorted(set(mine["study_id"]) - set(truth["study_id"]))
        if missing:
            problems.append(f"{name}: no stored rows for {', '.join(missing[:20])}")
        if extra:
            problems.append(f"{name}: stored rows of {', '.join(extra[:20])} should not be")
        if not missing and not extra:
            try:
                pd.testing.assert_frame_equal(mine, truth, check_exact=True)
            except AssertionError as difference:
                problems.append(f"{name}: {difference}".replace("\n", " "))
    return problems


def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts with None for every kind of missing (NaN, NA, NaT)."""
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


def _store(computed: _ColumnWise) -> None:
    table = _patient_frame(computed.patients)
    table["pid"] = computed.patients["pid"].to_numpy()
    analysed = {row["pid"]: row for row in _records(table)}
    rows = []
    for patient in _records(computed.locked):
        row = analysed.get(patient["pid"])
        values = {column: row[column] for column in PATIENT_COLUMNS} if row else {}
        rows.append(
            AnalysisRow(
                **{
                    **values,
                    "patient_id": patient["pid"],
                    "study_id": patient["study_id"],
                    "center": patient["center"],
                    "sequence": patient["sequence"],
                    "analysed": row is not None,
                }
            )
        )
    AnalysisRow.objects.bulk_create(rows, batch_size=5000)
    events = _ae_frame(computed.adverse_events)
    events["pid"] = computed.adverse_events["pid"].to_numpy()
    order = computed.locked.set_index("pid")
    events["center"] = events["pid"].map(order["center"])
    events["sequence"] = events["pid"].map(order["sequence"])
    events["position"] = events.groupby("pid").cumcount()
    AnalysisAdverseEventRow.objects.bulk_create(
        (
            AnalysisAdverseEventRow(patient_id=event.pop("pid"), **event)
            for event in _records(events)
        ),
        batch_size=5000,
    )
