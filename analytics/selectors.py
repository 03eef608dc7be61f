"""Reads for the dashboard: who sees it, the headline counts, runs, and what changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import pandas as pd
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from analytics.models import AnalysisRun
from core import permissions
from core.errors import ApplicationError, ErrorCode
from registry import choices as c
from registry.derived import DAYS_PER_MONTH
from registry.models import CRF_MODELS, AuditEvent, Center, Patient, SecondLineTherapy, User
from registry.selectors import patients_visible_to

T = TypeVar("T")

# A day: the pair of runs the dashboard shows changes with the next run anyway.
CHANGES_KEPT_SECONDS = 24 * 3600


def runs_for_history(limit: int = 20) -> QuerySet[AnalysisRun]:
    # bundle is large: the history lists metadata only and defers it.
    return (
        AnalysisRun.objects.select_related("plan", "triggered_by", "trigger_event__patient")
        .defer("bundle")
        .order_by("-created_at", "-pk")[:limit]
    )


def run_done_visible_to(user: User, run_id: int, *, bundle: bool = True) -> AnalysisRun:
    """A finished run whose results ``user`` may read, else 404 as if it did not exist.

    The centre scope of the analyses: a run's bundle holds every centre's locked casebooks,
    so only a study-wide reader (the dashboard's roles, whose scope in
    ``patients_visible_to`` is every centre) reaches it; a user of one centre gets 404, as
    for another centre's patient. ``bundle=False`` leaves the large bundle unread.
    """
    if not (permissions.can_see_dashboard(user) and permissions.sees_all_centers(user)):
        raise Http404("No such analysis run.")
    runs = AnalysisRun.objects.select_related("reused_from").filter(
        pk=run_id, status=AnalysisRun.Status.DONE
    )
    if not bundle:
        runs = runs.defer("bundle", "reused_from__bundle")
    run = runs.first()
    if run is None:
        raise Http404("No such analysis run.")
    return run


def run_latest_done() -> AnalysisRun | None:
    # The page reads the bundle only when what it shows of it is not cached (run_bundle).
    return (
        AnalysisRun.objects.filter(status=AnalysisRun.Status.DONE)
        .select_related("plan", "triggered_by", "reused_from", "trigger_event__patient")
        .defer("bundle", "reused_from__bundle")
        .order_by("-finished_at", "-pk")
        .first()
    )


def run_previous_done(run: AnalysisRun) -> AnalysisRun | None:
    # Its bundle is read only when what changed since it is not cached yet.
    return (
        AnalysisRun.objects.filter(status=AnalysisRun.Status.DONE, finished_at__lt=run.finished_at)
        .select_related("reused_from")
        .defer("bundle", "reused_from__bundle")
        .order_by("-finished_at", "-pk")
        .first()
    )


def run_active() -> AnalysisRun | None:
    """The run a worker is on, else the one waiting: what the progress indicator shows."""
    active = AnalysisRun.objects.filter(
        status__in=[AnalysisRun.Status.RUNNING, AnalysisRun.Status.QUEUED]
    ).defer("bundle")
    # "running" sorts after "queued": descending puts the running run first.
    return active.order_by("-status", "-created_at").first()


def run_last() -> AnalysisRun | None:
    return AnalysisRun.objects.defer("bundle").order_by("-created_at", "-pk").first()


def run_bundle(run: AnalysisRun) -> dict | None:
    """The run's own stored bundle, read now (the run may have been read without it)."""
    return AnalysisRun.objects.filter(pk=run.pk).values_list("bundle", flat=True).first()


# Bounds how long a count can lag when a write commits after a later one (below).
DATA_VERSION_KEPT_SECONDS = 60


def data_version() -> tuple:
    """A version of the registry's data, in one round trip of primary-key maxima (index
    lookups, not scans): the newest audit event, patient, and history row of the patient and
    of each CRF part.

    Every write that changes who is registered, enrolled or locked, or a query's or a
    verification's state, is audited (registration, screen failure, lock, unlock, queries
    raised, answered, closed or re-opened by hand or by a rule, verifications made or
    dropped); every CRF save adds a history row; bulk-generated casebooks are new patients.
    A write that commits after a later one is not seen by a maximum: whatever is kept under
    this version is kept for a minute only, which bounds how long it can lag then.
    """
    quote = connection.ops.quote_name
    tables = [AuditEvent, Patient, Patient.history.model]
    tables += [model.history.model for model in CRF_MODELS]
    # Table and column names from the models' own metadata, quoted: nothing from a user.
    parts = ", ".join(
        f"(SELECT MAX({quote(m._meta.pk.column)}) FROM {quote(m._meta.db_table)})"  # noqa: S608
        for m in tables
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {parts}")
        return tuple(cursor.fetchone())


def kept_for_data_version(name: str, user: User, compute: Callable[[], T]) -> T:
    """``compute()``, kept under a key holding the user's centre scope, the language and
    ``data_version()``: recomputed after any write it can depend on (within a minute at
    worst, see ``data_version``), not on every request."""
    scope = "all" if permissions.sees_all_centers(user) else f"centre-{user.center_id}"
    version = ".".join(str(part) for part in data_version())
    key = f"analytics:{name}:{scope}:{get_language()}:{version}"
    return cache.get_or_set(key, compute, timeout=DATA_VERSION_KEPT_SECONDS)


@dataclass
class CenterCount:
    code: str
    name: str
    registered: int
    enrolled: int
    locked: int


def enrolment_by_center(user: User) -> list[CenterCount]:
    """Registered / enrolled / locked patients per centre, as far as ``user`` may see."""
    locked = Q(casebook_status=c.CasebookStatus.LOCKED)
    enrolled = Q(enrolment_status=c.EnrolmentStatus.ENROLLED)
    rows = (
        patients_visible_to(user)
        .order_by()
        .values("center__code", "center__name")
        .annotate(
            registered=Count("pk"),
            enrolled=Count("pk", filter=enrolled),
            locked=Count("pk", filter=locked),
        )
    )
    by_code = {r["center__code"]: r for r in rows}
    centers = (
        Center.objects.all()
        if permissions.sees_all_centers(user)
        else Center.objects.filter(pk=user.center_id)
    )
    return [
        CenterCount(
            code=center.code,
            name=center.name,
            registered=by_code.get(center.code, {}).get("registered", 0),
            enrolled=by_code.get(center.code, {}).get("enrolled", 0),
            locked=by_code.get(center.code, {}).get("locked", 0),
        )
        for center in centers
    ]


def center_completeness(user: User) -> list[dict]:
    """Per patient of the user's centre: casebook status and parts complete (x of 7)."""
    n_parts = len(c.Section.values)
    rows = (
        patients_visible_to(user)
        .annotate(parts=Count("completions", distinct=True))
        .values("study_id", "enrolment_status", "casebook_status", "parts")
    )
    return [
        {
            **r,
            "n_parts": n_parts,
            "pct": round(100 * r["parts"] / n_parts),
            "casebook_status_label": c.CasebookStatus(r["casebook_status"]).label,
            "enrolment_status_label": c.EnrolmentStatus(r["enrolment_status"]).label,
        }
        for r in rows
    ]


def changes_since_kept(run: AnalysisRun, previous: AnalysisRun | None) -> list[str]:
    """``changes_since``, computed once per pair of runs and language: both runs are finished,
    so nothing it reads (their bundles, times, plans and the audit trail between them) can
    change any more, and the dashboard need not read the previous run's bundle each time."""
    if previous is None:
        return changes_since(run, None)
    key = f"analytics:changes:{run.pk}:{previous.pk}:{get_language()}"
    return cache.get_or_set(key, lambda: changes_since(run, previous), timeout=CHANGES_KEPT_SECONDS)


def _fmt_months(v: float | None) -> str:
    return "not reached" if v is None else f"{v:.1f}"


def changes_since(run: AnalysisRun, previous: AnalysisRun | None) -> list[str]:
    """Plain sentences: medians, events, casebooks locked/unlocked between the two runs."""
    if previous is None:
        return [_("First analysis run.")]
    now, before = run.result or {}, previous.result or {}
    out: list[str] = []
    if run.dataset_sha256 == previous.dataset_sha256 and run.plan_id == previous.plan_id:
        out.append(_("Same data and plan as the previous run: numbers unchanged."))
    for name, short in (("os", "mOS"), ("pfs", "mPFS")):
        a = (before.get("km") or {}).get(name)
        b = (now.get("km") or {}).get(name)
        if not a or not b:
            continue
        if a.get("median") != b.get("median"):
            out.append(
                _("%(median)s %(before)s → %(now)s months")
                % {
                    "median": short,
                    "before": _fmt_months(a.get("median")),
                    "now": _fmt_months(b.get("median")),
                }
            )
    for name in ("os", "pfs"):
        a = (before.get("km") or {}).get(name)
        b = (now.get("km") or {}).get(name)
        if a and b and a["events"] != b["events"]:
            delta = b["events"] - a["events"]
            if name == "os":
                text = ngettext("%(delta)s death", "%(delta)s deaths", abs(delta))
            else:
                text = ngettext("%(delta)s PFS event", "%(delta)s PFS events", abs(delta))
            out.append(text % {"delta": f"{delta:+d}"})
    if previous.n_analysed is not None and run.n_analysed is not None:
        delta = run.n_analysed - previous.n_analysed
        if delta:
            text = ngettext(
                "%(delta)s patient analysed (%(n)d in all)",
                "%(delta)s patients analysed (%(n)d in all)",
                abs(delta),
            )
            out.append(text % {"delta": f"{delta:+d}", "n": run.n_analysed})
    if previous.started_at and run.started_at:
        events = AuditEvent.objects.filter(
            at__gt=previous.started_at,
            at__lte=run.started_at,
            action__in=[AuditEvent.Action.LOCK, AuditEvent.Action.UNLOCK],
        ).aggregate(
            locked=Count("pk", filter=Q(action=AuditEvent.Action.LOCK)),
            unlocked=Count("pk", filter=Q(action=AuditEvent.Action.UNLOCK)),
        )
        if events["locked"]:
            n = events["locked"]
            out.append(ngettext("%(n)d casebook locked", "%(n)d casebooks locked", n) % {"n": n})
        if events["unlocked"]:
            n = events["unlocked"]
            out.append(
                ngettext("%(n)d casebook unlocked", "%(n)d casebooks unlocked", n) % {"n": n}
            )
    if run.plan_id != previous.plan_id and run.plan and previous.plan:
        out.append(
            _("plan v%(before)d → v%(now)d")
            % {"before": previous.plan.version, "now": run.plan.version}
        )
    return out or [_("No change in the headline numbers.")]


# -- the manuscript pack (analytics.manuscript renders; these read what it is given) --------
def run_for_publication() -> AnalysisRun | None:
    """The run a manuscript pack shows: the latest marked final, else the latest complete."""
    done = AnalysisRun.objects.filter(status=AnalysisRun.Status.DONE).select_related(
        "plan", "reused_from", "final_by"
    )
    final = done.filter(final_at__isnull=False).order_by("-final_at", "-pk").first()
    return final or done.order_by("-finished_at", "-pk").first()


def publication_flow() -> dict:
    """Counts of the flow diagram over the whole registry, as they stand now: registered,
    screen failures by the failed criterion, enrolled, locked. Study-wide on purpose (the
    pack is a study-level document; only study-wide roles reach it)."""
    patients = Patient.objects.order_by()
    totals = patients.aggregate(
        registered=Count("pk"),
        enrolled=Count("pk", filter=Q(enrolment_status=c.EnrolmentStatus.ENROLLED)),
        locked=Count("pk", filter=Q(casebook_status=c.CasebookStatus.LOCKED)),
    )
    failures = (
        patients.filter(enrolment_status=c.EnrolmentStatus.SCREEN_FAILURE)
        .values("screen_failure_reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "screen_failure_reason")
    )
    totals["screen_failures"] = [
        {"reason": r["screen_failure_reason"] or "Reason not recorded", "n": r["n"]}
        for r in failures
    ]
    return totals


def second_line_treatment() -> pd.DataFrame:
    """Per locked patient with a 2L start: months on 2L treatment (start to end date; blank
    while ongoing) and whether treatment is ongoing (no end date)."""
    rows = (
        SecondLineTherapy.objects.filter(patient__casebook_status=c.CasebookStatus.LOCKED)
        .order_by()
        .values_list("patient__study_id", "start_date", "end_date")
    )
    frame = pd.DataFrame.from_records(list(rows), columns=["study_id", "start", "end"])
    if frame.empty:
        return pd.DataFrame(columns=["study_id", "months", "ongoing"])
    start = pd.to_datetime(frame["start"])
    end = pd.to_datetime(frame["end"])
    # Ongoing treatment has no end: months stay blank and the pack draws the bar to the
    # patient's last follow-up (the patient table's os_months), with an arrow.
    return pd.DataFrame(
        {
            "study_id": frame["study_id"],
            "months": (end - start).dt.days / DAYS_PER_MONTH,
            "ongoing": end.isna(),
        }
    )


def manuscript_inputs(run: AnalysisRun) -> dict:
    """What ``analytics.manuscript.manuscript_files`` needs for a finished run: its bundle,
    the tables it was computed from (rebuilt, and held to the run's dataset hash), the
    flow counts and the 2L treatment durations. Raises ApplicationError(CONFLICT) when the
    locked data changed since the run (its patient-level figures would not be its data)."""
    from analytics.datasets import build_analysis_tables

    tables = build_analysis_tables()
    if tables.sha256() != run.dataset_sha256:
        raise ApplicationError(
            _(
                "The locked data changed since analysis run #%(pk)d: a new run is computing "
                "(or press Recompute on the dashboard); the pack is built from a run on the "
                "current data."
            )
            % {"pk": run.pk},
            code=ErrorCode.CONFLICT,
        )
    label = (_("Analysis run #%(pk)d (final)") if run.final_at else _("Analysis run #%(pk)d")) % {
        "pk": run.pk
    }
    return {
        "bundle": run.result,
        "tables": tables,
        "label": label,
        "dataset_sha256": run.dataset_sha256,
        "flow": publication_flow(),
        "treatment": second_line_treatment(),
    }
