"""Celery entry points: take an id, the service does the work and records the state."""

from celery import shared_task

from exchange import services


@shared_task(name="exchange.run", ignore_result=True)
def run_export(job_id: int) -> str:
    job = services.export_run(job_id=job_id)
    return job.status if job else "skipped"


@shared_task(name="exchange.sweep_exports", ignore_result=True)
def sweep_exports() -> dict[str, list[int]]:
    return services.exports_sweep()


@shared_task(name="exchange.run_import", ignore_result=True)
def run_import(job_id: int) -> str:
    from exchange.imports import services as imports_service

    job = imports_service.import_run(job_id=job_id)
    return job.status if job else "skipped"


@shared_task(name="exchange.sweep_imports", ignore_result=True)
def sweep_imports() -> dict[str, list[int]]:
    from exchange.imports import services as imports_service

    return imports_service.imports_sweep()
