"""Write one export ZIP, streaming: casebooks are read in chunks and rows go straight to
temporary CSV files, so memory stays flat however many patients there are.

Layout of the ZIP::

    README.md                 what is inside, the data dictionary, what de-identification did
    manifest.json             who, when, scope, settings, row counts, SHA-256 of every file, risk
    data_dictionary.csv       every column of every table
    analysis/patients.csv     analysis-contract patient table
    analysis/adverse_events.csv
    analysis/plan.json
    tables/<part>.csv         one tidy table per CRF part (long format)
    redcap/…                  data dictionary + records (format "redcap")
    xlsx/dataset.xlsx         one sheet per table (format "xlsx")
    sav/<table>.sav           SPSS files with variable and value labels (format "sav")
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import hashlib
import io
import json
import logging
import os
import shutil
import signal
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from django.conf import settings
from django.db import connection, connections
from django.db.models import QuerySet
from django.utils import translation

from exchange import deid
from exchange.cells import neutralise, neutralised
from exchange.plan import export_plan
from exchange.records import load_casebook_rows
from exchange.redcap import DICTIONARY_HEADER, RedcapLayout, dag_name
from exchange.tables import (
    ANALYSIS_AE_COLUMNS,
    ANALYSIS_PATIENT_COLUMNS,
    Options,
    PatientContext,
    Table,
    analysis_ae_rows,
    analysis_patient_row,
    table_rows,
    tidy_tables,
)
from registry import derived
from registry.casebook import Casebook
from registry.models import Patient

DICTIONARY_COLUMNS = [
    "table",
    "column",
    "type",
    "unit",
    "allowed_values",
    "meaning",
    # The Chinese of "meaning", beside it rather than instead of it: the files are the same
    # whatever the language of the user who asked for them (docs/translation.md).
    "label_zh_hans",
    "deidentification",
]
# Files for statistics software: English column meanings, labels and value labels.
EXPORT_LANGUAGE = "en-gb"
DICTIONARY_SECOND_LANGUAGE = "zh-hans"

logger = logging.getLogger(__name__)


@dataclass
class ExportSpec:
    patients: QuerySet[Patient]  # already scoped to the user, centres and lock status
    options: Options
    pseudonym_key: bytes | None  # None in an identified export (real study ids)
    coarsen_centers: bool = False
    formats: tuple[str, ...] = ()
    chunk_size: int = 2000
    manifest: dict = field(default_factory=dict)  # who/when/scope/settings, filled by caller
    # Processes writing the rows (settings.EXPORT_PROCESSES); 1: all in this one.
    processes: int = 1


@dataclass
class ExportResult:
    row_counts: dict[str, int]
    file_hashes: dict[str, str]
    risk: dict
    manifest: dict


# Excel's limit per cell; longer text is cut in the XLSX (the CSV keeps all of it).
XLSX_MAX_CELL = 32_767
CSV_MAX_FIELD = 256 * 1024 * 1024


class _CsvOut:
    def __init__(self, path: Path, header: list[str] | None) -> None:
        """``header`` None: rows only, for a part of a file whose header another part has."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.handle = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.handle, lineterminator="\n")
        if header is not None:
            self.writer.writerow(header)
        self.rows = 0

    def write(self, row: list) -> None:
        # csv writes None as "", a date as its ISO form and a float as repr() (exact
        # round trip); only text that a spreadsheet would execute is changed.
        self.writer.writerow(neutralised(row))
        self.rows += 1

    def write_neutralised(self, row: list) -> None:
        """A row whose every cell has already been through ``neutralise`` (or cannot hold
        text: numbers, codes 1..n), written as it is."""
        self.writer.writerow(row)
        self.rows += 1

    def close(self) -> None:
        self.handle.close()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Room for the longest exported id: a study id (max_length 16) or a 14-character pseudonym.
ID_BYTES = Patient._meta.get_field("study_id").max_length


def _ordered_patients(spec: ExportSpec) -> tuple[np.ndarray, np.ndarray]:
    """(exported ids, pks), two arrays sorted by the exported id.

    Rows are written in pseudonym order, not registration order, so the row position
    does not reveal when (or in which order) patients were enrolled. Held as fixed-width
    ASCII bytes and integers (about 25 bytes a patient) rather than a list of tuples of
    str (about 250): at 1,000,000 patients that list alone took 250 MB.
    """
    pairs = spec.patients.order_by().values_list("pk", "study_id")
    ids: list[np.ndarray] = []
    pks: list[np.ndarray] = []
    batch: list[tuple[int, str]] = []

    def flush() -> None:
        if spec.pseudonym_key is None:
            exported = [study_id for _, study_id in batch]
        else:
            exported = [deid.pseudonym(spec.pseudonym_key, study_id) for _, study_id in batch]
        # Study ids and pseudonyms are ASCII (registry.selectors.STUDY_ID_SHAPE, base32).
        ids.append(np.array([e.encode("ascii") for e in exported], dtype=f"S{ID_BYTES}"))
        pks.append(np.array([pk for pk, _ in batch], dtype=np.int64))
        batch.clear()

    for pair in pairs.iterator(chunk_size=10000):
        batch.append(pair)
        if len(batch) == 10000:
            flush()
    flush()
    all_ids, all_pks = np.concatenate(ids), np.concatenate(pks)
    order = np.argsort(all_ids, kind="stable")
    all_ids, all_pks = all_ids[order], all_pks[order]
    if spec.pseudonym_key is not None and bool(np.any(all_ids[1:] == all_ids[:-1])):
        # 65-bit pseudonyms make this practically impossible; refuse rather than merge.
        raise RuntimeError("pseudonym collision; run the export again with a new key")
    return all_ids, all_pks


def _chunks(ids: np.ndarray, pks: np.ndarray, size: int) -> Iterator[list[tuple[str, int]]]:
    for start in range(0, len(pks), size):
        yield list(
            zip(
                (i.decode("ascii") for i in ids[start : start + size]),
                pks[start : start + size].tolist(),
                strict=True,
            )
        )


# Deflate's fastest level, not zlib's default 6: on the CSVs of 100,000 patients (316 MB)
# 1.6 s of CPU instead of 5.9 s for a ZIP 34% larger (56 MB, not 42 MB); zipping ran after
# the rows in one process and was an eighth of the export's time.
ZIP_LEVEL = 1

# What a write in progress leaves in the export folder: a work folder and a half-written ZIP.
WORK_DIR_MARK = "-work-"
PARTIAL_SUFFIX = ".part"


def write_export(spec: ExportSpec, out_path: Path) -> ExportResult:
    """The export ZIP at ``out_path``: byte for byte the same files in every language (an
    eager task runs in the requesting user's language, a worker in the default one)."""
    with translation.override(EXPORT_LANGUAGE):
        return _write_export(spec, out_path)


def _write_export(spec: ExportSpec, out_path: Path) -> ExportResult:
    options = spec.options
    tables = tidy_tables(options)
    redcap = RedcapLayout(tables) if "redcap" in spec.formats else None
    clock = _PhaseClock(out_path.stem)
    ordered = _ordered_patients(spec)
    clock.done(f"pseudonym order of {len(ordered[1])} patients")
    codes = sorted(spec.patients.order_by().values_list("center__code", flat=True).distinct())
    labels = (
        deid.center_labels(codes, spec.pseudonym_key or b"")
        if spec.coarsen_centers
        else {code: code for code in codes}
    )
    rows_of = _RowsOf(spec=spec, tables=tables, redcap=redcap, center_labels=labels)
    # Named after the export's file, so that what a killed worker leaves behind can be told
    # apart by job (exchange.services.exports_sweep removes it).
    work = Path(tempfile.mkdtemp(prefix=f"{out_path.stem}{WORK_DIR_MARK}", dir=out_path.parent))
    try:
        processes = _processes_for(spec, len(ordered[1]))
        tally = _write_all_rows(rows_of, ordered, work, processes)
        clock.done(f"rows ({processes} process(es))")
        row_counts = tally.row_counts
        risk_groups = tally.risk_groups

        plan, plan_source = export_plan()
        _write_text(work / "analysis/plan.json", json.dumps(plan, indent=2, ensure_ascii=False))
        dictionary = _dictionary(tables, options)
        _write_csv(work / "data_dictionary.csv", DICTIONARY_COLUMNS, dictionary)
        if redcap:
            _write_csv(
                work / "redcap/data_dictionary.csv", DICTIONARY_HEADER, redcap.dictionary_rows()
            )
        if "xlsx" in spec.formats:
            _write_xlsx(work, tables, dictionary)
        if "sav" in spec.formats:
            _write_sav(work, tables, options)
        risk = deid.risk_summary(risk_groups)
        manifest = {
            **spec.manifest,
            "plan_source": plan_source,
            "row_counts": row_counts,
            "reidentification_risk": risk,
        }
        _write_text(work / "README.md", _readme(manifest, dictionary))
        file_hashes = {
            str(p.relative_to(work)): sha256_of(p) for p in sorted(work.rglob("*")) if p.is_file()
        }
        manifest["files_sha256"] = file_hashes
        clock.done("other files and hashes")
        _write_text(work / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        tmp_zip = out_path.with_suffix(PARTIAL_SUFFIX)
        try:
            with zipfile.ZipFile(
                tmp_zip, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL
            ) as zf:
                for p in sorted(work.rglob("*")):
                    if p.is_file():
                        zf.write(p, str(p.relative_to(work)))
            os.replace(tmp_zip, out_path)
            clock.done("zip")
        finally:
            # A half-written ZIP must never be mistaken for a finished export.
            tmp_zip.unlink(missing_ok=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return ExportResult(row_counts, file_hashes, risk, manifest)


class _PhaseClock:
    """Logs how long each phase of an export took (operations; benchmarks/export.py)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.last = time.perf_counter()

    def done(self, phase: str) -> None:
        now = time.perf_counter()
        logger.info("export %s: %s in %.1f s", self.name, phase, now - self.last)
        self.last = now


def _write_book(
    book: Casebook,
    ctx: PatientContext,
    options: Options,
    tables: list[Table],
    outs: dict[str, _CsvOut],
    redcap: RedcapLayout | None,
) -> None:
    analysis_row = analysis_patient_row(book, ctx, options)
    if analysis_row is not None:
        # The adverse events of a patient outside the patient table (no 2L start) have
        # no onset day and no denominator, so they stay out, as in the engine's input.
        outs["analysis/patients.csv"].write(analysis_row)
        for row in analysis_ae_rows(book, ctx):
            outs["analysis/adverse_events.csv"].write(row)
    main_row = None
    repeat_rows = []
    # The REDCap rows are built from the tidy rows after those went through neutralise,
    # so they are written as they are (most of their cells are empty: neutralising them
    # again was most of the export's time at 1,000,000 patients).
    study_id, dag = neutralise(ctx.study_id), neutralise(dag_name(ctx.center))
    for table in tables:
        out = outs[f"tables/{table.name}.csv"]
        complete = table.section in book.completed_sections
        for instance, values in enumerate(table_rows(book, table, ctx), start=1):
            values = neutralised(values)
            out.write_neutralised(values)
            if redcap is None:
                continue
            if table.repeating:
                repeat_rows.append(
                    redcap.rows_for(table, values, study_id, dag, complete, instance)
                )
            else:
                # Non-repeating instruments share one row per record (disjoint columns).
                main_row = redcap.rows_for(
                    table, values, study_id, dag, complete, None, into=main_row
                )
    if redcap:
        records = outs["redcap/records.csv"]
        records.write_neutralised(main_row)
        for row in repeat_rows:
            records.write_neutralised(row)


@dataclass
class _RowsOf:
    """What writing the rows of any range of the export's patients needs."""

    spec: ExportSpec
    tables: list[Table]
    redcap: RedcapLayout | None
    center_labels: dict[str, str]  # centre code → the label exported


@dataclass
class _Tally:
    row_counts: dict[str, int]  # file name → data rows, in the order of the files
    risk_groups: Counter  # (age band, sex, centre label) → patients


def _open_outs(rows_of: _RowsOf, folder: Path, *, header: bool) -> dict[str, _CsvOut]:
    headers = {
        "analysis/patients.csv": [c[0] for c in ANALYSIS_PATIENT_COLUMNS],
        "analysis/adverse_events.csv": [c[0] for c in ANALYSIS_AE_COLUMNS],
    }
    for table in rows_of.tables:
        headers[f"tables/{table.name}.csv"] = table.header
    if rows_of.redcap:
        headers["redcap/records.csv"] = rows_of.redcap.header
    return {
        name: _CsvOut(folder / name, columns if header else None)
        for name, columns in headers.items()
    }


def _write_rows(
    rows_of: _RowsOf, ids: np.ndarray, pks: np.ndarray, folder: Path, *, header: bool
) -> _Tally:
    """The rows of the patients ``pks`` (exported as ``ids``, in this order) into the data
    files under ``folder``; ``header``: begin each file with its header line."""
    spec, tables, redcap, labels = (
        rows_of.spec,
        rows_of.tables,
        rows_of.redcap,
        rows_of.center_labels,
    )
    options = spec.options
    shift_key = deid.date_shift_key()
    risk_groups: Counter = Counter()
    outs = _open_outs(rows_of, folder, header=header)
    try:
        for chunk in _chunks(ids, pks, spec.chunk_size):
            books = load_casebook_rows([pk for _, pk in chunk])
            for exported_id, pk in chunk:
                book = books[pk]
                ctx = PatientContext(
                    study_id=exported_id,
                    center=labels[book.patient.center.code],
                    index_date=book.index_date,
                    shift=deid.shift_days(book.patient.study_id, shift_key),
                )
                _write_book(book, ctx, options, tables, outs, redcap)
                patient = book.patient
                age = derived.age_in_years(patient.date_of_birth, patient.registration_date)
                risk_groups[(deid.age_band(age), patient.sex, ctx.center)] += 1
    finally:
        for out in outs.values():
            out.close()
    return _Tally({name: out.rows for name, out in outs.items()}, risk_groups)


def _write_all_rows(
    rows_of: _RowsOf, ordered: tuple[np.ndarray, np.ndarray], work: Path, processes: int
) -> _Tally:
    ids, pks = ordered
    if processes == 1:
        return _write_rows(rows_of, ids, pks, work, header=True)
    return _write_rows_in_processes(rows_of, ids, pks, work, processes)


def _processes_for(spec: ExportSpec, patients: int) -> int:
    """How many processes write the rows: ``spec.processes``, at most one per chunk, and
    one wherever a forked child could not read what this process reads: not on SQLite
    (the embedded default, whose test databases live in memory) and not inside a
    transaction (a child has a connection of its own and would not see its writes)."""
    if spec.processes <= 1 or not hasattr(os, "fork"):
        return 1
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return 1
    return max(1, min(spec.processes, patients // spec.chunk_size))


# Inside the work folder while the children write; removed before the files are hashed.
PARTS_DIR = ".parts"
TALLY_FILE = "tally.json"
ERROR_FILE = "error.txt"


def _write_rows_in_processes(
    rows_of: _RowsOf, ids: np.ndarray, pks: np.ndarray, work: Path, processes: int
) -> _Tally:
    """The rows written by ``processes`` processes, each one contiguous range of the
    pseudonym order: this process writes the first range into the export's files (with
    their headers) and forked children the others into files of their own, which are then
    appended in order. So the files are byte for byte those of one process, in about
    1/``processes`` of the time on as many idle cores."""
    bounds = [len(pks) * part // processes for part in range(processes + 1)]
    parent = os.getpid()
    # A child must never speak over this process's connection (one socket, two talkers):
    # close it now; each process opens its own at its first query.
    connections.close_all()
    running: dict[int, tuple[int, Path]] = {}  # part → (pid, its folder)
    try:
        for part in range(1, processes):
            folder = work / PARTS_DIR / str(part)
            folder.mkdir(parents=True)
            start, end = bounds[part], bounds[part + 1]
            pid = os.fork()
            if pid == 0:
                _child_write_rows(rows_of, ids[start:end], pks[start:end], folder, parent)
            running[part] = (pid, folder)
        tallies = [_write_rows(rows_of, ids[: bounds[1]], pks[: bounds[1]], work, header=True)]
        for part in range(1, processes):
            pid, folder = running[part]
            _pid, status = os.waitpid(pid, 0)
            del running[part]  # reaped: its pid is no longer ours to signal
            tallies.append(_tally_of_child(status, folder, part, processes))
    finally:
        # This process failed (or was interrupted): its children's files will not be used.
        for pid, _folder in running.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    for name in tallies[0].row_counts:
        with open(work / name, "ab") as target:
            for part in range(1, processes):
                with open(work / PARTS_DIR / str(part) / name, "rb") as source:
                    shutil.copyfileobj(source, target, 1 << 20)
    shutil.rmtree(work / PARTS_DIR)
    row_counts = {name: sum(t.row_counts[name] for t in tallies) for name in tallies[0].row_counts}
    risk_groups: Counter = Counter()
    for tally in tallies:
        risk_groups.update(tally.risk_groups)
    return _Tally(row_counts, risk_groups)


def _child_write_rows(
    rows_of: _RowsOf, ids: np.ndarray, pks: np.ndarray, folder: Path, parent: int
) -> NoReturn:
    """The body of a forked child: write its range, leave its tally (or its error) in
    ``folder`` and exit, never returning into the parent's code (a Celery task, a test)."""
    status = 1
    try:
        _die_with_parent(parent)
        tally = _write_rows(rows_of, ids, pks, folder, header=False)
        groups = [[list(group), n] for group, n in tally.risk_groups.items()]
        (folder / TALLY_FILE).write_text(
            json.dumps({"row_counts": tally.row_counts, "risk_groups": groups})
        )
        status = 0
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises it
        with contextlib.suppress(BaseException):
            logger.exception("export rows in a child process failed")
            (folder / ERROR_FILE).write_text(f"{type(error).__name__}: {error}")
    finally:
        # Its own connection, opened after the fork: closing it tells only its own server
        # process goodbye. os._exit: no atexit handlers, no flushing of inherited buffers.
        with contextlib.suppress(BaseException):
            connections.close_all()
        os._exit(status)


def _die_with_parent(parent: int) -> None:
    """A child outliving its parent (a worker killed at its hard time limit) would go on
    writing patient data that nobody collects: on Linux the kernel kills it with the parent."""
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)


def _tally_of_child(status: int, folder: Path, part: int, processes: int) -> _Tally:
    """What a child reported, from its wait status and its folder; raises if it failed."""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        error_file = folder / ERROR_FILE
        if error_file.is_file():
            reason = error_file.read_text()
        elif code < 0:
            reason = f"killed by signal {-code}"
        else:
            reason = f"exit status {code}"
        raise RuntimeError(f"export rows, part {part + 1} of {processes}: {reason}")
    data = json.loads((folder / TALLY_FILE).read_text())
    groups = Counter({tuple(group): n for group, n in data["risk_groups"]})
    return _Tally(data["row_counts"], groups)


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    out = _CsvOut(path, header)
    for row in rows:
        out.write(row)
    out.close()


def _second_language_meanings(options: Options) -> dict[tuple[str, str], str]:
    """(table, column) → the column's meaning in the dictionary's second language."""
    with translation.override(DICTIONARY_SECOND_LANGUAGE):
        meanings = {("analysis/patients", c[0]): str(c[3]) for c in ANALYSIS_PATIENT_COLUMNS}
        meanings |= {("analysis/adverse_events", c[0]): str(c[3]) for c in ANALYSIS_AE_COLUMNS}
        for table in tidy_tables(options):
            for col in table.columns:
                meanings[(f"tables/{table.name}", col.name)] = str(col.meaning)
    return meanings


def _dictionary(tables: list[Table], options: Options) -> list[list[str]]:
    second = _second_language_meanings(options)
    rows = []
    for name, kind, unit, meaning in ANALYSIS_PATIENT_COLUMNS:
        deid_text = {
            "study_id": "study id replaced by the export's pseudonym",
            "age_years": "ages over 89 top-coded to 90",
            "center": "quasi-identifier; may be coarsened",
        }.get(name, "")
        rows.append(["analysis/patients", name, kind, unit, "", str(meaning), deid_text])
    for name, kind, unit, meaning in ANALYSIS_AE_COLUMNS:
        deid_text = "study id replaced by the export's pseudonym" if name == "study_id" else ""
        rows.append(["analysis/adverse_events", name, kind, unit, "", str(meaning), deid_text])
    for table in tables:
        for col in table.columns:
            rows.append(
                [
                    f"tables/{table.name}",
                    col.name,
                    col.type,
                    col.unit,
                    col.allowed,
                    str(col.meaning),
                    col.deid,
                ]
            )
    for row in rows:
        row.insert(DICTIONARY_COLUMNS.index("label_zh_hans"), second.get((row[0], row[1]), ""))
    return rows


def _typed(value: str, kind: str) -> Any:
    if value == "":
        return None
    if kind in ("integer", "0/1"):
        try:
            return int(value)
        except ValueError:
            return value  # e.g. "90+"
    if kind == "number":
        return float(value)
    return value


def _xlsx_cell(sheet, value: Any) -> Any:
    """A value as an XLSX cell: text is always a text cell (never a formula), without the
    characters XML cannot hold, and cut at Excel's per-cell limit, saying so."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if len(text) > XLSX_MAX_CELL:
        note = f" … [cut: {len(text)} characters in all; the CSV has the full text]"
        text = text[: XLSX_MAX_CELL - len(note)] + note
    if not text.startswith("="):
        return text  # openpyxl stores any other text as text
    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    return cell


def _write_xlsx(work: Path, tables: list[Table], dictionary: list[list[str]]) -> None:
    from openpyxl import Workbook

    # write_only streams rows to disk instead of building the whole sheet in memory.
    book = Workbook(write_only=True)
    # The CSVs written above may hold text longer than the csv module reads by default
    # (128 KiB per field): a long note must not fail the XLSX.
    csv.field_size_limit(max(csv.field_size_limit(), CSV_MAX_FIELD))
    kinds = {(row[0], row[1]): row[2] for row in dictionary}
    sheets = [
        ("analysis_patients", "analysis/patients"),
        ("analysis_adverse_events", "analysis/adverse_events"),
    ] + [(t.name, f"tables/{t.name}") for t in tables]
    for sheet_name, source in sheets:
        sheet = book.create_sheet(sheet_name[:31])
        with open(work / f"{source}.csv", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            sheet.append(header)
            col_kinds = [kinds.get((source, name), "string") for name in header]
            for row in reader:
                sheet.append(
                    [_xlsx_cell(sheet, _typed(v, k)) for v, k in zip(row, col_kinds, strict=True)]
                )
    sheet = book.create_sheet("data_dictionary")
    sheet.append(DICTIONARY_COLUMNS)
    for row in dictionary:
        sheet.append(row)
    target = work / "xlsx/dataset.xlsx"
    target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)


def _write_sav(work: Path, tables: list[Table], options: Options) -> None:
    """SPSS files: codes become 1..n with value labels, yes/no 0/1 labelled, age 90 = '90+'."""
    import pandas as pd
    import pyreadstat

    target = work / "sav"
    target.mkdir(parents=True, exist_ok=True)
    yes_no = {0: "No", 1: "Yes"}
    analysis_specs = [
        ("analysis_patients", "analysis/patients", ANALYSIS_PATIENT_COLUMNS),
        ("analysis_adverse_events", "analysis/adverse_events", ANALYSIS_AE_COLUMNS),
    ]
    for name, source, columns in analysis_specs:
        frame = pd.read_csv(
            work / f"{source}.csv", dtype={"study_id": str}, keep_default_na=False, na_values=[""]
        )
        labels = {col: str(meaning)[:250] for col, _, _, meaning in columns}
        values = {col: yes_no for col, kind, _, _ in columns if kind == "0/1"}
        if name == "analysis_patients" and not options.identified:
            values["age_years"] = {90: "90+"}
        pyreadstat.write_sav(
            frame, str(target / f"{name}.sav"), column_labels=labels, variable_value_labels=values
        )
    for table in tables:
        frame = pd.read_csv(
            work / f"tables/{table.name}.csv", dtype=str, keep_default_na=False, na_values=[""]
        )
        labels, values, keep = {}, {}, []
        for col in table.columns:
            if col.type == "label":
                continue  # the value labels carry the labels in SPSS
            keep.append(col.name)
            labels[col.name] = str(col.meaning)[:250]
            series = frame[col.name]
            if col.type == "code":
                codes = {code: i for i, (code, _) in enumerate(col.choices, 1)}
                frame[col.name] = series.map(codes).astype("float64")
                values[col.name] = {i: lab for i, (_, lab) in enumerate(col.choices, 1)}
            elif col.type in ("integer", "0/1", "number"):
                frame[col.name] = pd.to_numeric(series)
                if col.type == "0/1":
                    values[col.name] = yes_no
            elif col.name == "age_years":
                frame[col.name] = pd.to_numeric(series.replace({deid.AGE_TOP_LABEL: "90"}))
                values[col.name] = {90: "90+"}
        pyreadstat.write_sav(
            frame[keep],
            str(target / f"{table.name}.sav"),
            column_labels=labels,
            variable_value_labels=values,
        )


def _readme(manifest: dict, dictionary: list[list[str]]) -> str:
    identified = manifest.get("identified")
    out = io.StringIO()
    title = (
        "IDENTIFIED export (contains direct identifiers)"
        if identified
        else ("De-identified export")
    )
    out.write(f"# {title}\n\n")
    out.write(
        f"Export {manifest.get('export_id')} by {manifest.get('exported_by')} at "
        f"{manifest.get('exported_at')}.\n\n"
    )
    if identified:
        out.write(f"**Identified export.** Reason given: {manifest.get('reason')}\n\n")
    out.write(
        "## Reproduce the analysis\n\n```\npython -m analytics.stats "
        "--patients analysis/patients.csv --adverse-events analysis/adverse_events.csv "
        "--plan analysis/plan.json --out bundle.json\n```\n\n"
    )
    out.write(f"The plan is {manifest.get('plan_source')}.\n\n")
    out.write("## De-identification\n\n")
    for line in manifest.get("deidentification_summary", []):
        out.write(f"- {line}\n")
    risk = manifest["reidentification_risk"]
    out.write(f"\nSmallest group over (age band, sex, centre): k = {risk.get('k')}.\n")
    if risk.get("warning"):
        out.write(f"\n**Warning:** {risk['warning']}\n")
    out.write("\n## Row counts\n\n| file | rows |\n|---|---|\n")
    for name, count in manifest["row_counts"].items():
        out.write(f"| {name} | {count} |\n")
    out.write("\n## Data dictionary\n\n")
    current = None
    for table, column, kind, unit, allowed, meaning, _label_zh_hans, deid_text in dictionary:
        if table != current:
            current = table
            out.write(
                f"\n### {table}\n\n| column | type | unit | allowed values | meaning "
                "| de-identification |\n|---|---|---|---|---|---|\n"
            )
        cells = [column, kind, unit, allowed, meaning, deid_text]
        out.write("| " + " | ".join(str(x).replace("|", "/") for x in cells) + " |\n")
    return out.getvalue()


def default_chunk_size() -> int:
    return settings.EXPORT_CHUNK_SIZE
