"""Command line: files in, one bundle JSON out; exit 2 with one stderr line on bad input.

``main(argv, stdout, stderr)`` is what ``manage.py analyze`` wraps: it never calls sys.exit and
never writes a partial bundle (temp file in the target directory, then an atomic rename).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from typing import IO, Any

import numpy as np
import pandas as pd

from .bundle import analyze
from .plan import reference_plan
from .validation import EngineInputError

EXIT_OK = 0
EXIT_BAD_INPUT = 2


class _ArgError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:
        """Raise instead of printing usage and exiting: main() reports one line, status 2."""
        raise _ArgError(message)


def build_parser() -> argparse.ArgumentParser:
    """The options of analysis-contract.md §6 (plus --reference-plan)."""
    p = _Parser(prog="analyze", description="Run the statistical analysis plan on CSV files.")
    p.add_argument("--patients", required=True, help="patient table CSV")
    p.add_argument("--adverse-events", help="adverse-event table CSV")
    p.add_argument("--plan", help="plan JSON (default: the contract's example plan)")
    p.add_argument(
        "--reference-plan",
        action="store_true",
        help="use the reference study's plan (analytics/stats/reference_plan.json)",
    )
    p.add_argument("--out", required=True, help="where to write the bundle JSON")
    return p


def read_table(path: str, what: str, categorical: tuple[str, ...] = ()) -> pd.DataFrame:
    """CSV → DataFrame; only blank cells are missing (not "NA"), study_id stays text.

    ``categorical`` columns are parsed straight into pandas categoricals: the AE table's
    study_id and term repeat millions of times at scale, and one string object per cell
    cost ~0.5 GB at 1,000,000 patients.
    """
    dtype: dict[str, Any] = {"study_id": str}
    dtype.update(dict.fromkeys(categorical, "category"))
    try:
        # round_trip: the default fast parser can be 1 ulp off, so a re-run on exported
        # files would differ from the bundle computed on the database's exact values.
        df = pd.read_csv(
            path,
            dtype=dtype,
            keep_default_na=False,
            na_values=[""],
            float_precision="round_trip",
        )
    except FileNotFoundError:
        raise EngineInputError(f"{path}: {what} file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EngineInputError(f"{path}: cannot read {what} CSV: {first}") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_plan(path: str) -> dict:
    """Plan JSON file → dict; a missing file or bad JSON is an EngineInputError (one line)."""
    try:
        with open(path, encoding="utf-8") as fh:
            plan = json.load(fh)
    except FileNotFoundError:
        raise EngineInputError(f"{path}: plan file not found") from None
    except json.JSONDecodeError as exc:
        raise EngineInputError(f"{path}: invalid JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(plan, dict):
        raise EngineInputError(f"{path}: the plan must be a JSON object")
    return plan


def to_jsonable(obj: Any) -> Any:
    """numpy scalars → Python, NaN/inf → None, tuples → lists (the bundle is strict JSON)."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        f = float(obj)
        return f if math.isfinite(f) else None
    return obj


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps_bundle(bundle: dict) -> str:
    """Strict JSON text of a bundle. Fast path: json.dumps with numpy scalars converted; if a
    NaN/inf slipped through (allow_nan=False raises), walk the tree and write it as null."""
    try:
        return json.dumps(bundle, allow_nan=False, ensure_ascii=False, default=_json_default)
    except ValueError:
        return json.dumps(to_jsonable(bundle), allow_nan=False, ensure_ascii=False)


def write_atomic(path: str, text: str) -> None:
    """Write via a temp file in the same directory and os.replace: all or nothing."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".bundle-", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def main(
    argv: list[str] | None = None, stdout: IO[str] | None = None, stderr: IO[str] | None = None
) -> int:
    """Run the engine from files; 0 on success, 2 on bad input (one line on stderr)."""
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    try:
        args = build_parser().parse_args(argv)
        if args.plan and args.reference_plan:
            raise EngineInputError("give --plan or --reference-plan, not both")
        plan = (
            read_plan(args.plan)
            if args.plan
            else (reference_plan() if args.reference_plan else None)
        )
        patients = read_table(args.patients, "patient")
        ae = (
            read_table(args.adverse_events, "adverse-event", ("study_id", "term"))
            if args.adverse_events
            else None
        )
        bundle = analyze(patients, ae, plan)
        text = dumps_bundle(bundle)
        write_atomic(args.out, text)
    except (_ArgError, EngineInputError) as exc:
        print(f"analyze: error: {exc}", file=stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:
        print(f"analyze: error: {exc.filename or ''}: {exc.strerror}", file=stderr)
        return EXIT_BAD_INPUT
    n_warn = len(bundle["warnings"])
    print(f"wrote {args.out}: {bundle['n_patients']} patients, {n_warn} warning(s)", file=stdout)
    return EXIT_OK
