import csv
import io
import zipfile

from exchange import services


def run_export(user, **options):
    """Request and run an export synchronously (the task's body), as the CLI does."""
    job = services.export_request(user=user, enqueue=False, **options)
    return services.export_run(job_id=job.pk)


def open_zip(job) -> zipfile.ZipFile:
    return zipfile.ZipFile(job.file_path)


def rows(zf: zipfile.ZipFile, name: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(zf.read(name).decode("utf-8"))))


def header(zf: zipfile.ZipFile, name: str) -> list[str]:
    return next(csv.reader(io.StringIO(zf.read(name).decode("utf-8"))))
