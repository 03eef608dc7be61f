"""Celery entry point: takes an id, the service does the work and records the state."""

from celery import shared_task

from exchange import services


@shared_task(name="exchange.run")
def run_export(job_id: int) -> str:
    job = services.export_run(job_id=job_id)
    return job.status if job else "skipped"
