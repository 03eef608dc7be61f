"""Celery entry points of the quality app: thin, take ids, idempotent through state.

``run_rules`` syncs the automatic queries with the rules' current hits (``rules_run``):
running it twice, or after a redelivery, opens and closes nothing the second time. Celery
beat runs it over the whole cohort every ``QUALITY_RULES_INTERVAL`` seconds; a casebook
save queues it for that one patient.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import IntegrityError, OperationalError

from core import outbox

logger = logging.getLogger(__name__)


# IntegrityError: a concurrent run opened the same automatic query first; the retry finds it.
@shared_task(
    name="quality.run_rules",
    autoretry_for=(IntegrityError, OperationalError),
    retry_backoff=2,
    retry_backoff_max=60,
    max_retries=5,
    ignore_result=True,
)
def run_rules(patient_ids: list[int] | None = None) -> str:
    from quality.checks import rules_run

    summary = rules_run(patient_ids)
    # A short result: the worker logs it for every casebook save.
    return f"opened {summary['opened']}, closed {summary['closed']}"


def queue_rules_for_saved_casebook(sender, patient, **kwargs) -> None:
    """Receiver of ``registry.signals.casebook_saved`` (sent after the write committed)."""
    from django.db import transaction

    # The signal comes after the commit; on_commit still defers it if a caller's outer
    # transaction is open (e.g. seed_demo's per-casebook block), so the rules see the casebook
    # as committed.
    patient_id = patient.pk
    transaction.on_commit(lambda: _queue(patient_id))


def _queue(patient_id: int) -> None:
    try:
        # Best effort with a short broker timeout: a save never waits on a broker that is
        # down (the periodic whole-cohort run catches up).
        outbox.send(run_rules, [patient_id])
    except Exception:  # noqa: BLE001
        # Without a broker the task runs here, inside the coordinator's request, after the
        # save committed: a failing check must not turn a saved form into an error page.
        # The hourly whole-cohort run catches up.
        logger.exception("data-quality rules for patient %s failed", patient_id)


@shared_task(name="quality.send_notification_emails")
def send_notification_emails(notification_ids: list[int]) -> str:
    """The immediate emails of one event's notifications (queued after its commit)."""
    from quality.notifications import send_immediate

    return f"sent {send_immediate(notification_ids)}"


@shared_task(name="quality.send_notification_digests")
def send_notification_digests() -> str:
    """Celery beat, daily: one digest per user with notifications not emailed yet.
    Idempotent: an emailed notification is marked, and a second run sends nothing."""
    from quality.notifications import send_digests

    return f"sent {send_digests()} digests"
