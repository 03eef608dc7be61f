"""Reads for the dashboard: who sees it, the headline counts, runs, and what changed."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from analytics.models import AnalysisRun
from core import permissions
from registry import choices as c
from registry.models import AuditEvent, Center, User
from registry.selectors import patients_visible_to


def runs_for_history(limit: int = 20) -> QuerySet[AnalysisRun]:
    # bundle is large: the history lists metadata only and defers it.
    return (
        AnalysisRun.objects.select_related("plan", "triggered_by", "trigger_event__patient")
        .defer("bundle", "figures")
        .order_by("-created_at", "-pk")[:limit]
    )


def run_latest_done() -> AnalysisRun | None:
    return (
        AnalysisRun.objects.filter(status=AnalysisRun.Status.DONE)
        .select_related("plan", "triggered_by", "reused_from", "trigger_event__patient")
        .order_by("-finished_at", "-pk")
        .first()
    )


def run_previous_done(run: AnalysisRun) -> AnalysisRun | None:
    return (
        AnalysisRun.objects.filter(status=AnalysisRun.Status.DONE, finished_at__lt=run.finished_at)
        .select_related("reused_from")
        .defer("figures", "reused_from__figures")
        .order_by("-finished_at", "-pk")
        .first()
    )


def run_active() -> AnalysisRun | None:
    """The run a worker is on, else the one waiting: what the progress indicator shows."""
    active = AnalysisRun.objects.filter(
        status__in=[AnalysisRun.Status.RUNNING, AnalysisRun.Status.QUEUED]
    ).defer("bundle", "figures")
    # "running" sorts after "queued": descending puts the running run first.
    return active.order_by("-status", "-created_at").first()


def run_last() -> AnalysisRun | None:
    return AnalysisRun.objects.defer("bundle", "figures").order_by("-created_at", "-pk").first()


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


def _fmt_months(v: float | None) -> str:
    return "not reached" if v is None else f"{v:.1f}"


def changes_since(run: AnalysisRun, previous: AnalysisRun | None) -> list[str]:
    """Plain sentences: medians, events, casebooks locked/unlocked between the two runs."""
    if previous is None:
        return ["First analysis run."]
    now, before = run.result or {}, previous.result or {}
    out: list[str] = []
    if run.dataset_sha256 == previous.dataset_sha256 and run.plan_id == previous.plan_id:
        out.append("Same data and plan as the previous run: numbers unchanged.")
    for name, short in (("os", "mOS"), ("pfs", "mPFS")):
        a = (before.get("km") or {}).get(name)
        b = (now.get("km") or {}).get(name)
        if not a or not b:
            continue
        if a.get("median") != b.get("median"):
            out.append(
                f"{short} {_fmt_months(a.get('median'))} → {_fmt_months(b.get('median'))} months"
            )
    for name, word in (("os", "death"), ("pfs", "PFS event")):
        a = (before.get("km") or {}).get(name)
        b = (now.get("km") or {}).get(name)
        if a and b and a["events"] != b["events"]:
            delta = b["events"] - a["events"]
            out.append(f"{delta:+d} {word}{'' if abs(delta) == 1 else 's'}")
    if previous.n_analysed is not None and run.n_analysed is not None:
        delta = run.n_analysed - previous.n_analysed
        if delta:
            noun = "patient" if abs(delta) == 1 else "patients"
            out.append(f"{delta:+d} {noun} analysed ({run.n_analysed} in all)")
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
            out.append(f"{n} casebook{'' if n == 1 else 's'} locked")
        if events["unlocked"]:
            n = events["unlocked"]
            out.append(f"{n} casebook{'' if n == 1 else 's'} unlocked")
    if run.plan_id != previous.plan_id and run.plan and previous.plan:
        out.append(f"plan v{previous.plan.version} → v{run.plan.version}")
    return out or ["No change in the headline numbers."]
