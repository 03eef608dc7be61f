"""Writes and derived reads of named data cuts: freeze the current locked data, compare two.

A cut freezes exactly what a run computes on: the contract's two analysis tables built from
the locked casebooks (``analytics.datasets.build_analysis_tables``), the current plan and
the engine version, and the bundle ``analytics.services.bundle_compute`` makes of them. The
freeze is synchronous: a PI who presses "Freeze" gets the cut, not a job to poll.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from typing import Any

import pandas as pd
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import translation
from django.utils.translation import gettext as _

from analytics import selectors as analytics_selectors
from analytics import services as analytics_services
from analytics.datasets import AnalysisTables, build_analysis_tables, locked_patients
from analytics.models import AnalysisPlan, AnalysisRun
from analytics.stats import __version__ as ENGINE_VERSION
from analytics.stats.bundle import dataset_sha256
from analytics.stats.cli import read_table
from core import permissions
from core.errors import ApplicationError, ErrorCode, field_error
from core.validators import first_control_character
from publication.models import DataCut
from registry import choices as c
from registry.models import AuditEvent, User

NAME_MAX = DataCut._meta.get_field("name").max_length
NOTE_MAX = DataCut._meta.get_field("note").max_length


def _require_cut_user(user: User) -> None:
    if not permissions.can_use_data_cuts(user):
        raise ApplicationError(
            _("Data cuts are for PIs, data managers and administrators."), code=ErrorCode.FORBIDDEN
        )


# -- the frozen tables -------------------------------------------------------------------------
def tables_to_csv(frame: pd.DataFrame) -> str:
    # %.17g: every float round-trips exactly, so the re-read table hashes as the original.
    return frame.to_csv(index=False, na_rep="", float_format="%.17g", lineterminator="\n")


def cut_patients(cut: DataCut) -> pd.DataFrame:
    """The cut's patient table, read as the engine's command line reads a CSV."""
    return read_table(io.StringIO(cut.patients_csv), "patient")


def cut_adverse_events(cut: DataCut) -> pd.DataFrame:
    return read_table(io.StringIO(cut.adverse_events_csv), "adverse-event")


def cut_manuscript_inputs(cut: DataCut) -> dict[str, Any]:
    """What ``analytics.manuscript.manuscript_files`` needs, all from what the cut froze: the
    pack of a cut is the same whenever it is drawn, whatever was locked since."""
    treatment = (
        pd.read_csv(io.StringIO(cut.treatment_csv), dtype={"study_id": str})
        if cut.treatment_csv
        else None
    )
    if treatment is not None:
        treatment["ongoing"] = treatment["ongoing"].astype(bool)
    return {
        "bundle": cut.bundle,
        "tables": AnalysisTables(
            patients=cut_patients(cut),
            adverse_events=cut_adverse_events(cut),
            n_locked=cut.n_locked,
        ),
        "label": cut.name,
        "dataset_sha256": cut.dataset_sha256,
        "flow": cut.flow or None,
        "treatment": treatment,
    }


def _locked_patient_list() -> list[dict[str, Any]]:
    """Every locked casebook: study id, casebook version and the lock event that locked it.

    Two queries whatever the cohort size (no list of ids: 100,000 parameters are more than
    PostgreSQL's protocol takes). The newest lock event of a patient is the one that holds:
    an earlier lock was undone by an unlock.
    """
    locked = list(locked_patients().order_by("study_id").values("pk", "study_id", "version"))
    last_lock = {
        patient_id: (event_id, at)
        for patient_id, event_id, at in AuditEvent.objects.filter(
            action=AuditEvent.Action.LOCK, patient__casebook_status=c.CasebookStatus.LOCKED
        )
        .values("patient_id")
        .annotate(last=Max("pk"), last_at=Max("at"))
        .values_list("patient_id", "last", "last_at")
    }
    out = []
    for p in locked:
        event_id, at = last_lock.get(p["pk"], (None, None))
        out.append(
            {
                "study_id": p["study_id"],
                "version": p["version"],
                "lock_event": event_id,
                "locked_at": at.isoformat() if at else None,
            }
        )
    return out


def _reusable_bundle(dataset_hash: str, plan_sha: str) -> tuple[dict, AnalysisRun] | None:
    """A finished run's bundle on the same data, plan and engine version, if there is one."""
    run = (
        AnalysisRun.objects.filter(
            status=AnalysisRun.Status.DONE,
            dataset_sha256=dataset_hash,
            plan__plan_sha256=plan_sha,
            reused_from__isnull=True,
            bundle__engine_version=ENGINE_VERSION,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )
    return (run.bundle, run) if run is not None else None


def _too_long(limit: int, length: int) -> str:
    return _("at most %(limit)d characters (this one has %(length)d).") % {
        "limit": limit,
        "length": length,
    }


def _control_characters(where: str) -> str:
    return _("control characters are not allowed (found %(where)s).") % {"where": where}


def _validated_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise field_error("name", _("give the cut a name, e.g. “Manuscript v1”."))
    name = " ".join(name.split())
    if len(name) > NAME_MAX:
        raise field_error("name", _too_long(NAME_MAX, len(name)))
    if where := first_control_character(name):
        raise field_error("name", _control_characters(where))
    return name


def _validated_note(note: object) -> str:
    if note is None:
        return ""
    if not isinstance(note, str):
        raise field_error("note", _("must be text."))
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise field_error("note", _too_long(NOTE_MAX, len(note)))
    if where := first_control_character(note):
        raise field_error("note", _control_characters(where))
    return note


def _name_taken(name: str) -> ApplicationError:
    return field_error(
        "name",
        _(
            "a data cut named “%(name)s” exists already; cuts are never replaced, "
            "choose another name."
        )
        % {"name": name},
        code=ErrorCode.CONFLICT,
    )


def cut_build(
    *,
    user: User,
    name: str,
    note: str,
    tables: AnalysisTables,
    plan: AnalysisPlan,
    locked: list[dict[str, Any]],
) -> DataCut:
    """The cut of these tables and plan, not yet saved: the tables frozen as CSV text (checked
    to hash as the tables), the bundle of a finished run on the same data, plan and engine
    version if there is one, else computed now as a run computes it."""
    patients_csv = tables_to_csv(tables.patients)
    ae_csv = tables_to_csv(tables.adverse_events)
    # The frozen text must be the data the bundle was computed on: re-read, it hashes equal.
    frozen = AnalysisTables(
        patients=read_table(io.StringIO(patients_csv), "patient"),
        adverse_events=read_table(io.StringIO(ae_csv), "adverse-event"),
        n_locked=tables.n_locked,
    )
    digest = tables.sha256()
    if frozen.sha256() != digest:
        raise RuntimeError("the frozen CSV does not hash as the tables it was written from")
    reused = _reusable_bundle(digest, plan.plan_sha256) if plan.pk else None
    if reused is not None:
        bundle, run = reused
    else:
        bundle, run = analytics_services.bundle_compute(tables, plan.plan), None
    return DataCut(
        name=name,
        note=note,
        created_by=user,
        plan=plan.plan,
        plan_sha256=plan.plan_sha256,
        plan_version=plan.version,
        engine_version=ENGINE_VERSION,
        patients_csv=patients_csv,
        adverse_events_csv=ae_csv,
        dataset_sha256=digest,
        bundle=bundle,
        bundle_from_run=run,
        locked_patients=locked,
        flow=analytics_selectors.publication_flow(),
        treatment_csv=tables_to_csv(analytics_selectors.second_line_treatment()),
        n_locked=tables.n_locked,
        n_analysed=tables.n_analysed,
        n_adverse_events=len(tables.adverse_events),
    )


def cut_freeze(*, user: User, name: str, note: str = "") -> DataCut:
    """Freeze the current locked data, plan and engine version as the named, immutable cut.

    Refused (nothing written): a role other than PI, data manager or admin; a blank, too long
    or already used name (names compare without regard to case); no plan; no locked casebook
    with a 2L start. Audited as CUT_FREEZE with the cut's hashes.
    """
    _require_cut_user(user)
    name = _validated_name(name)
    note = _validated_note(note)
    if DataCut.objects.filter(name__iexact=name).exists():
        raise _name_taken(name)
    plan = analytics_services.plan_current()
    if plan is None:
        raise ApplicationError(
            _("There is no analysis plan yet: a PI must save one before a cut can be frozen."),
            code=ErrorCode.NO_PLAN,
        )
    locked = _locked_patient_list()
    tables = build_analysis_tables()
    if tables.n_locked != len(locked):
        raise ApplicationError(
            _("A casebook was locked or unlocked while the cut was being frozen; try again."),
            code=ErrorCode.CONFLICT,
        )
    if tables.n_analysed == 0:
        raise field_error(
            "cohort",
            _(
                "no locked casebook with a second-line start: there is nothing to freeze. "
                "Lock at least one complete casebook first."
            ),
        )
    # What is frozen is data, the same whatever the language of the PI freezing it.
    with translation.override("en-gb"):
        cut = cut_build(user=user, name=name, note=note, tables=tables, plan=plan, locked=locked)
    cut.full_clean(validate_unique=False)
    try:
        with transaction.atomic():
            cut.save(force_insert=True)
            AuditEvent.objects.create(
                user=user,
                action=AuditEvent.Action.CUT_FREEZE,
                detail={
                    "cut": cut.pk,
                    "name": name,
                    "dataset_sha256": cut.dataset_sha256,
                    "plan_version": plan.version,
                    "plan_sha256": plan.plan_sha256,
                    "engine_version": ENGINE_VERSION,
                    "n_locked": cut.n_locked,
                    "n_analysed": cut.n_analysed,
                    "bundle_from_run": cut.bundle_from_run_id,
                },
                reason=note,
            )
    except IntegrityError:
        # Two freezes with one name at once: the unique constraint lets one through.
        if DataCut.objects.filter(name__iexact=name).exists():
            raise _name_taken(name) from None
        raise
    return cut


def cut_download_audit(*, user: User, cut: DataCut, what: str) -> None:
    """A cut's bundle, tables or kit left the registry: who took which."""
    _require_cut_user(user)
    AuditEvent.objects.create(
        user=user,
        action=AuditEvent.Action.CUT_DOWNLOAD,
        detail={"cut": cut.pk, "name": cut.name, "file": what},
    )


# -- comparing two cuts ----------------------------------------------------------------------
def _canonical(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return int(value)  # 1 and 1.0 are the same datum (a blank turns an int column float)
    return value


def _row_digests(cut: DataCut) -> dict[str, tuple[str, dict, list]]:
    """study id → (hash of its patient row and adverse-event rows, row, AE rows)."""
    patients = cut_patients(cut)
    events = cut_adverse_events(cut)
    ae_by_patient: dict[str, list] = {}
    for record in events.astype(object).where(events.notna(), None).to_dict("records"):
        ae_by_patient.setdefault(str(record["study_id"]), []).append(
            sorted((k, _canonical(v)) for k, v in record.items())
        )
    out = {}
    for record in patients.astype(object).where(patients.notna(), None).to_dict("records"):
        sid = str(record["study_id"])
        row = {k: _canonical(v) for k, v in record.items()}
        aes = sorted(ae_by_patient.get(sid, []), key=repr)
        text = json.dumps([sorted(row.items()), aes], sort_keys=True, default=str)
        out[sid] = (hashlib.sha256(text.encode()).hexdigest(), row, aes)
    return out


# Bundle keys that are not results: drawing data, the plan echoed, texts and hashes.
_SKIPPED_KEYS = {
    "curve",
    "at_risk",
    "plan",
    "warnings",
    "engine_version",
    "plan_sha256",
    "dataset_sha256",
    "hr_direction",
    "diagnostics",
    "coef",
    "se",
    "members",
    "note",
}
_WORDS = {
    "km": "",
    "cox": "",
    "subgroups": "",
    "comparisons": "comparison",
    "table1": "Table 1",
    "ae_table": "adverse events",
    "covariates": "covariate",
    "terms": "",
    "groups": "",
    "median": "median",
    "ci": "CI",
    "hr": "HR",
    "p": "p",
    "n": "n",
    "events": "events",
    "pct": "%",
    "chi2": "χ²",
    "df": "df",
    "rmst": "RMST",
    "logrank": "log-rank",
    "firth": "Firth",
    "ph": "PH test",
    "lr_test": "likelihood-ratio test",
    "univariate": "univariate Cox",
    "multivariable": "multivariable Cox",
    "followup": "median follow-up",
    "any_grade": "any grade",
    "grade_3_5": "grade 3–5",
    "orr": "ORR",
    "dcr": "DCR",
    "n_excluded": "excluded",
    "cut_median": "median cut",
}
_IDENTITY_KEYS = ("by", "key", "endpoint", "kind", "term", "variable", "level", "label")


def _identity(item: dict) -> tuple[str, str]:
    """How a list element is recognised in the other cut (path part) and named (words):
    its label when it has one, else its term, variable or key (with the level of a Table 1
    row and the endpoint of a subgroup)."""
    parts = [f"{k}={item[k]}" for k in _IDENTITY_KEYS if k in item and item[k] is not None]
    if item.get("label") is not None:
        return ",".join(parts), str(item["label"])
    words = [
        str(item[k])
        for k in ("term", "variable", "key", "level", "endpoint")
        if item.get(k) is not None
    ]
    return ",".join(parts), " ".join(words)


def bundle_numbers(bundle: dict) -> dict[str, tuple[str, float]]:
    """Every number of a bundle: path → (words, value). Paths name list elements by their
    key, term or label (not their position), so a row that moved is still the same row."""
    out: dict[str, tuple[str, float]] = {}

    def walk(node: Any, path: str, words: list[str]) -> None:
        if isinstance(node, bool) or node is None or isinstance(node, str):
            return
        if isinstance(node, (int, float)):
            out[path] = (" ".join(w for w in words if w), float(node))
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if key in _SKIPPED_KEYS:
                    continue
                word = _WORDS.get(key, key)
                if isinstance(value, dict) and isinstance(value.get("label"), str):
                    word = value["label"]
                walk(value, f"{path}.{key}" if path else key, [*words, word])
            return
        if isinstance(node, list):
            if len(node) == 2 and path.endswith(".ci"):
                walk(node[0], path + "[lower]", [*words, "lower"])
                walk(node[1], path + "[upper]", [*words, "upper"])
                return
            for i, item in enumerate(node):
                if isinstance(item, dict):
                    ident, name = _identity(item)
                    walk(item, f"{path}[{ident or i}]", [*words, name])
                else:
                    walk(item, f"{path}[{i}]", [*words, str(i)])

    walk(bundle, "", [])
    return out


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.4g}"


def cut_compare(a: DataCut, b: DataCut) -> dict[str, Any]:
    """What changed from cut a to cut b: patients added, removed and changed (per-patient
    hash of the patient row and its adverse-event rows) and every bundle number that moved.
    """
    rows_a, rows_b = _row_digests(a), _row_digests(b)
    added = sorted(set(rows_b) - set(rows_a))
    removed = sorted(set(rows_a) - set(rows_b))
    changed = []
    for sid in sorted(set(rows_a) & set(rows_b)):
        hash_a, row_a, aes_a = rows_a[sid]
        hash_b, row_b, aes_b = rows_b[sid]
        if hash_a == hash_b:
            continue
        columns = sorted(k for k in set(row_a) | set(row_b) if row_a.get(k) != row_b.get(k))
        changed.append(
            {
                "study_id": sid,
                "columns": columns,
                "adverse_events_changed": aes_a != aes_b,
                "adverse_events": [len(aes_a), len(aes_b)],
            }
        )
    numbers_a, numbers_b = bundle_numbers(a.bundle), bundle_numbers(b.bundle)
    moved = []
    for path in sorted(set(numbers_a) | set(numbers_b)):
        words_a, value_a = numbers_a.get(path, ("", None))
        words_b, value_b = numbers_b.get(path, ("", None))
        if value_a == value_b:
            continue
        label = words_b or words_a
        moved.append(
            {
                "path": path,
                "label": label,
                "a": value_a,
                "b": value_b,
                "text": f"{label}: {_fmt(value_a)} → {_fmt(value_b)}",
            }
        )
    return {
        "a": {"id": a.pk, "name": a.name, "dataset_sha256": a.dataset_sha256},
        "b": {"id": b.pk, "name": b.name, "dataset_sha256": b.dataset_sha256},
        "same_data": a.dataset_sha256 == b.dataset_sha256,
        "same_plan": a.plan_sha256 == b.plan_sha256,
        "same_engine": a.engine_version == b.engine_version,
        "patients_added": added,
        "patients_removed": removed,
        "patients_changed": changed,
        "numbers_moved": moved,
    }


def recompute_dataset_sha256(cut: DataCut) -> str:
    """The dataset hash of the cut's stored tables, recomputed (what a check compares)."""
    return dataset_sha256(cut_patients(cut), cut_adverse_events(cut))
