"""Writes of the analytics app: plan versions, queuing runs, executing a run, the sweeper.

Coalescing ("latest wins"): a trigger queues a run only when no run is waiting in the
queue; otherwise it is folded into the waiting run (``coalesced`` + 1). A queued run reads
the locked data when a worker starts it, so it always computes on the latest data, and a
burst of 50 locks gives at most two runs: the one running when the burst began (if any)
and the one waiting. Enqueuers serialise on the current plan row, so two concurrent locks
cannot both see "no queued run".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from analytics.curves import add_figure_data
from analytics.datasets import (
    analysis_rows_refresh,
    build_analysis_tables,
    empty_patient_table,
)
from analytics.models import AnalysisPlan, AnalysisRun
from analytics.stats import EngineInputError, analyze
from analytics.stats.cli import to_jsonable
from analytics.stats.plan import parse_plan, plan_sha256, reference_plan
from core import outbox, permissions
from core.errors import ApplicationError, ErrorCode
from quality import selectors as quality_selectors
from registry.models import AuditEvent, User

logger = logging.getLogger(__name__)

# Errors worth retrying: the database or the network hiccupped, the code is fine.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)

DEMO_PLAN_NOTE = "Demo plan: the reference cohort's analyses (seed-cohort.md)."


# What a run reports doing (AnalysisRun.step), stored in English like the logs and shown in
# the reader's language by the dashboard and its status endpoint.
RUN_STEPS = (
    gettext_noop("claimed"),
    gettext_noop("waiting to retry"),
    gettext_noop("failed"),
    gettext_noop("reading locked casebooks"),
    gettext_noop("computing the analyses"),
    gettext_noop("storing the results"),
    gettext_noop("drawing the figures"),
    gettext_noop("done"),
    gettext_noop("re-queued by the sweeper"),
)


# -- plan ------------------------------------------------------------------------------------
def plan_validate(plan: object) -> dict:
    """The engine's verdict on a plan: the normalised plan, or ApplicationError with its message.

    The engine runs the plan on an empty contract-shaped patient table, so an unknown column
    is reported exactly as the engine words it ("agee: missing column in the patient table
    (needed by covariate age_gt60)").
    """
    if not isinstance(plan, dict):
        raise ApplicationError(
            _("plan: must be a JSON object."), fields={"plan": [_("Not an object.")]}
        )
    try:
        normalised = parse_plan(plan)
        analyze(empty_patient_table(), None, plan)
    except EngineInputError as exc:
        raise ApplicationError(f"plan: {exc}", fields={"plan": [str(exc)]}) from None
    return normalised


def plan_current() -> AnalysisPlan | None:
    return AnalysisPlan.objects.order_by("-version").first()


def plan_create(*, user: User | None, plan: dict, note: str = "") -> AnalysisPlan:
    """Add a plan version (PI or admin) and queue a run on it after commit."""
    if user is not None and not permissions.can_edit_plan(user):
        raise ApplicationError(
            _("Only a study PI or an administrator may change the analysis plan."),
            code=ErrorCode.FORBIDDEN,
        )
    normalised = plan_validate(plan)
    with transaction.atomic():
        current = AnalysisPlan.objects.select_for_update().order_by("-version").first()
        version = current.version + 1 if current else 1
        created = AnalysisPlan.objects.create(
            version=version,
            plan=plan,
            plan_sha256=plan_sha256(normalised),
            note=note.strip(),
            created_by=user,
        )
        run_enqueue(trigger=AnalysisRun.Trigger.PLAN, user=user)
    return created


def plan_seed_demo() -> AnalysisPlan:
    """Idempotent: the reference plan as the current plan, unless that is already so.

    Called by ``manage.py seed_demo`` (and ``manage.py seed_analysis_plan``). Adds no version
    when the current plan already hashes equal to the reference plan.
    """
    plan = reference_plan()
    digest = plan_sha256(parse_plan(plan))
    current = plan_current()
    if current is not None and current.plan_sha256 == digest:
        return current
    return plan_create(user=None, plan=plan, note=DEMO_PLAN_NOTE)


# -- queuing ---------------------------------------------------------------------------------
def _dispatch(run_id: int) -> None:
    """Send the run's message, best effort; the sweep sends it again if this fails."""
    from analytics.tasks import compute_analysis_run

    if outbox.send(compute_analysis_run, run_id):
        AnalysisRun.objects.filter(pk=run_id).update(dispatched_at=timezone.now())


def run_enqueue(
    *,
    trigger: str,
    user: User | None = None,
    event: AuditEvent | None = None,
) -> AnalysisRun | None:
    """Queue a run unless one is already waiting (then fold this trigger into it).

    Returns the run that will compute this trigger's data, or None without a plan. The
    task is sent after the transaction commits, so a worker never sees a run that does not
    exist yet.
    """
    with transaction.atomic():
        # Serialise enqueuers on the current plan row (PostgreSQL row lock; SQLite
        # serialises writers anyway) so two concurrent locks cannot both create a run.
        plan = AnalysisPlan.objects.select_for_update().order_by("-version").first()
        if plan is None:
            logger.info("analysis run not queued: no analysis plan yet")
            return None
        waiting = AnalysisRun.objects.filter(status=AnalysisRun.Status.QUEUED).order_by("pk")
        queued = waiting.first()
        if queued is not None:
            AnalysisRun.objects.filter(pk=queued.pk).update(coalesced=F("coalesced") + 1)
            return queued
        run = AnalysisRun.objects.create(trigger=trigger, triggered_by=user, trigger_event=event)
        transaction.on_commit(lambda: _dispatch(run.pk))
    return run


def on_casebook_locked(sender, *, patient, user, event, **kwargs) -> None:
    run_enqueue(trigger=AnalysisRun.Trigger.LOCK, user=user, event=event)


def on_casebook_lock_changed(sender, *, patient_ids, **kwargs) -> None:
    analysis_rows_refresh(patient_ids)


def on_casebook_unlocked(sender, *, patient, user, event, **kwargs) -> None:
    run_enqueue(trigger=AnalysisRun.Trigger.UNLOCK, user=user, event=event)


# -- executing -------------------------------------------------------------------------------
def run_claim(run_id: int) -> bool:
    """Atomically move a queued run to running; False if another worker has it (or it's done)."""
    now = timezone.now()
    claimed = AnalysisRun.objects.filter(pk=run_id, status=AnalysisRun.Status.QUEUED).update(
        status=AnalysisRun.Status.RUNNING,
        started_at=now,
        heartbeat_at=now,
        progress=0,
        step="claimed",
        attempts=F("attempts") + 1,
    )
    return claimed == 1


def _progress(run_id: int, pct: int, step: str) -> None:
    AnalysisRun.objects.filter(pk=run_id, status=AnalysisRun.Status.RUNNING).update(
        progress=pct, step=step, heartbeat_at=timezone.now()
    )


def _release(run_id: int) -> None:
    """Give a claimed run back to the queue after a transient error, so a retry can claim it."""
    AnalysisRun.objects.filter(pk=run_id, status=AnalysisRun.Status.RUNNING).update(
        status=AnalysisRun.Status.QUEUED, step="waiting to retry"
    )


def _fail(run_id: int, message: str) -> None:
    AnalysisRun.objects.filter(pk=run_id).update(
        status=AnalysisRun.Status.FAILED,
        error=message[:2000] or "failed",
        step="failed",
        finished_at=timezone.now(),
    )


def run_execute(run_id: int, *, engine: Callable | None = None) -> str:
    """Claim and compute one run. Returns 'done', 'reused', 'failed' or 'not claimed'.

    Transient database errors release the run back to the queue and propagate (the task
    retries with backoff). Any other error is a bug or bad data: the run is marked failed
    with a message the PI can read, and nothing propagates.
    """
    engine = engine or analyze  # looked up at call time, so the engine can be swapped in tests
    if not run_claim(run_id):
        return "not claimed"
    running = AnalysisRun.objects.filter(pk=run_id, status=AnalysisRun.Status.RUNNING)
    with outbox.heartbeat(running, every=heartbeat_interval()):
        return _compute(run_id, engine)


def heartbeat_interval() -> float:
    """Four beats per timeout: one missed beat (a slow database) does not look like death."""
    return settings.WORK_HEARTBEAT_TIMEOUT / 4


def _compute(run_id: int, engine: Callable) -> str:
    timings: dict[str, float] = {}
    try:
        plan = plan_current()
        if plan is None:
            _fail(run_id, "There is no analysis plan: a PI must save one first.")
            return "failed"
        AnalysisRun.objects.filter(pk=run_id).update(plan=plan)
        _progress(run_id, 10, "reading locked casebooks")
        started = time.perf_counter()
        tables = build_analysis_tables()
        dataset_hash = tables.sha256()
        timings["tables"] = round(time.perf_counter() - started, 4)
        AnalysisRun.objects.filter(pk=run_id).update(
            dataset_sha256=dataset_hash,
            n_locked=tables.n_locked,
            n_analysed=tables.n_analysed,
            timings=timings,
        )
        earlier = (
            AnalysisRun.objects.filter(
                status=AnalysisRun.Status.DONE,
                dataset_sha256=dataset_hash,
                plan__plan_sha256=plan.plan_sha256,
                reused_from__isnull=True,
            )
            .exclude(pk=run_id)
            .order_by("-finished_at")
            .first()
        )
        if earlier is not None:
            AnalysisRun.objects.filter(pk=run_id).update(
                status=AnalysisRun.Status.DONE,
                reused_from=earlier,
                progress=100,
                step=f"reused run #{earlier.pk}",
                finished_at=timezone.now(),
            )
            return "reused"
        _progress(run_id, 40, "computing the analyses")
        started = time.perf_counter()
        bundle = bundle_compute(tables, plan.plan, engine=engine)
        timings["engine"] = round(time.perf_counter() - started, 4)
        _progress(run_id, 90, "storing the results")
        started = time.perf_counter()
        AnalysisRun.objects.filter(pk=run_id).update(bundle=bundle)
        timings["store"] = round(time.perf_counter() - started, 4)
        # No figures here: each is drawn on its first request, per language, and kept as a
        # file (analytics.figure_files), so the new numbers are out without waiting for them.
        AnalysisRun.objects.filter(pk=run_id).update(
            status=AnalysisRun.Status.DONE,
            progress=100,
            step="done",
            timings=timings,
            finished_at=timezone.now(),
        )
        return "done"
    except TRANSIENT_ERRORS:
        try:
            # The connection that failed is likely dead (a database restart terminates
            # it): release on a fresh one, so the task's retry can claim the run at once.
            if not connection.in_atomic_block:
                connection.close()
            _release(run_id)
        except DatabaseError:
            # The database is still away: the sweep re-queues the run once its heartbeat
            # is older than WORK_HEARTBEAT_TIMEOUT.
            logger.warning("run %s: could not release after a transient error", run_id)
        raise
    except EngineInputError as exc:
        _fail(run_id, f"The analysis engine rejected the data: {exc}")
        return "failed"
    except Exception as exc:
        logger.exception("analysis run %s failed", run_id)
        first_line = (str(exc).strip().splitlines() or [""])[0]
        _fail(run_id, f"{type(exc).__name__}: {first_line}".rstrip(": "))
        return "failed"


def bundle_compute(tables, plan: dict, *, engine: Callable | None = None) -> dict:
    """The stored bundle of a run (and of a data cut): the engine's result on the analysis
    tables with the subgroup curves and censoring marks the figures draw, as plain JSON."""
    engine = engine or analyze
    bundle = engine(tables.patients, tables.adverse_events, plan)
    return to_jsonable(add_figure_data(bundle, tables.patients, plan))


# -- the sweeper -----------------------------------------------------------------------------
def runs_sweep(*, now=None) -> dict[str, list[int]]:
    """Recover runs a worker lost and send runs whose message did not go out.

    - 'running' with a heartbeat older than WORK_HEARTBEAT_TIMEOUT: its worker died; the run
      is re-queued (after WORK_MAX_ATTEMPTS claims it is marked failed instead, so a run that
      kills its worker every time cannot loop for ever);
    - 'queued' and never sent (the broker was down after the commit), or sent longer than
      WORK_HEARTBEAT_TIMEOUT ago and still not taken (the message was lost with the broker):
      sent again. A duplicate message is harmless: the claim lets one worker have the run.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.WORK_HEARTBEAT_TIMEOUT)
    requeued: list[int] = []
    failed: list[int] = []
    stale_running = AnalysisRun.objects.filter(
        status=AnalysisRun.Status.RUNNING, heartbeat_at__lt=cutoff
    )
    for run in stale_running:
        still_stale = AnalysisRun.objects.filter(
            pk=run.pk, status=AnalysisRun.Status.RUNNING, heartbeat_at__lt=cutoff
        )
        if run.attempts >= settings.WORK_MAX_ATTEMPTS:
            if still_stale.update(
                status=AnalysisRun.Status.FAILED,
                error=f"The worker stopped responding {run.attempts} times; giving up.",
                step="failed",
                finished_at=now,
            ):
                failed.append(run.pk)
            continue
        if still_stale.update(
            status=AnalysisRun.Status.QUEUED, step="re-queued by the sweeper", dispatched_at=None
        ):
            requeued.append(run.pk)
            logger.warning("run %s lost its worker; re-queued", run.pk)
            transaction.on_commit(lambda pk=run.pk: _dispatch(pk))
    waiting = AnalysisRun.objects.filter(status=AnalysisRun.Status.QUEUED)
    resent = outbox.resend_not_taken(waiting, cutoff=cutoff, dispatch=_dispatch, skip=requeued)
    return {"requeued": requeued, "failed": failed, "resent": resent}


def run_start_manual(*, user: User) -> AnalysisRun | None:
    """'Recompute now' from the dashboard (PI, data manager, admin)."""
    return run_enqueue(trigger=AnalysisRun.Trigger.MANUAL, user=user)


def run_mark_final(*, user: User, run_id: int) -> AnalysisRun:
    """A PI marks a finished run final: the numbers to publish. Refused while any locked
    casebook has an unresolved data query, since those numbers may still change."""
    if not permissions.can_edit_plan(user):
        raise ApplicationError(
            _("Only the study PI or an administrator may mark an analysis final."),
            code=ErrorCode.FORBIDDEN,
        )
    with transaction.atomic():
        run = AnalysisRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            raise ApplicationError(_("No such analysis run."), code=ErrorCode.NOT_FOUND)
        if run.status != AnalysisRun.Status.DONE:
            raise ApplicationError(
                _("Run %(pk)d has not finished; only a finished run can be final.") % {"pk": run.pk}
            )
        if run.final_at is not None:
            return run
        unresolved = quality_selectors.unresolved_on_locked_casebooks()
        if unresolved:
            raise ApplicationError(
                ngettext(
                    "Run %(pk)d cannot be final: %(n)d data query is still unresolved on "
                    "locked casebooks; close it first.",
                    "Run %(pk)d cannot be final: %(n)d data queries are still unresolved on "
                    "locked casebooks; close them first.",
                    unresolved,
                )
                % {"pk": run.pk, "n": unresolved}
            )
        run.final_at = timezone.now()
        run.final_by = user
        run.save(update_fields=["final_at", "final_by"])
    return run
