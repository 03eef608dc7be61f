"""Celery entry points: thin wrappers that take ids and call the services.

``compute_analysis_run`` is idempotent through state (the claim), so a duplicate
delivery — acks_late redelivery, the sweeper resending — computes nothing twice.
"""

from __future__ import annotations

from celery import shared_task

from analytics import services


@shared_task(
    name="analytics.compute_analysis_run",
    autoretry_for=services.TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=6,
    ignore_result=True,
)
def compute_analysis_run(run_id: int) -> str:
    return services.run_execute(run_id)


@shared_task(name="analytics.sweep_analysis_runs", ignore_result=True)
def sweep_analysis_runs() -> dict[str, list[int]]:
    return services.runs_sweep()
