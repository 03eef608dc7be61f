"""The round trip: an identified export of the demo study (all tables), imported into an
empty registry through the export-ZIP and REDCap formats, exported again, gives the same
tables. Only the casebook workflow status differs: an import enters data, it does not
sign or lock (the imported casebooks are in progress)."""

import csv
import io
import shutil
import zipfile
from io import StringIO

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command

from exchange import services as export_services
from exchange.models import ImportJob
from registry.models import Center, Patient
from tests.exchange.imports.helpers import commit, errors, preview
from tests.factories import UserFactory

WORKFLOW_COLUMNS = {"casebook_status", "casebook_status_label"}


def _export_admin(username: str):
    user = UserFactory(username=username, role="admin", center=None, is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="export_identified"))
    return user


def _identified_export(user, target):
    job = export_services.export_request(
        user=user,
        locked_only=False,
        identified=True,
        reason="round trip test",
        formats=["csv", "redcap"],
        enqueue=False,
    )
    job = export_services.export_run(job_id=job.pk)
    shutil.copyfile(job.file_path, target)
    return target


def _tables(path) -> dict[str, list[dict]]:
    out = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.startswith(("tables/", "analysis/")) and name.endswith(".csv"):
                rows = list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8"))))
                out[name] = [
                    {k: v for k, v in row.items() if k not in WORKFLOW_COLUMNS} for row in rows
                ]
    return out


@pytest.mark.parametrize("file_format", ["csv-zip", "redcap"])
@pytest.mark.django_db(transaction=True)
def test_identified_export_round_trips_through_an_empty_registry(file_format, tmp_path, settings):
    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.IMPORT_ROOT = tmp_path / "imports"
    call_command("seed_demo", stdout=StringIO())
    assert Patient.objects.count() == 28
    first = _identified_export(_export_admin("rt-admin"), tmp_path / "first.zip")
    centres = list(Center.objects.values_list("code", "name"))
    call_command("flush", interactive=False, verbosity=0)
    for code, name in centres:
        Center.objects.create(code=code, name=name)
    importer = _export_admin("rt-importer")

    job = preview(importer, first, file_format=file_format)
    assert job.status == ImportJob.Status.PREVIEWED, job.error
    assert errors(job) == []
    assert job.counts["patients_created"] == 28
    job = commit(importer, job)
    assert job.status == ImportJob.Status.DONE, job.error
    # New patients get their study ids from the registry: in an empty registry, the same.
    assert all(file_id == real for file_id, real in job.study_ids.items())

    second = _identified_export(importer, tmp_path / "second.zip")
    before, after = _tables(first), _tables(second)
    assert sorted(before) == sorted(after)
    assert len(before["tables/registration.csv"]) == 28
    assert all(
        before[f"tables/{name}.csv"] for name in ("assessments", "adverse_events", "follow_up")
    )
    for name in before:
        assert after[name] == before[name], name
    # And the re-import of the same file now changes nothing.
    again = preview(importer, first, file_format=file_format)
    assert errors(again) == [] and again.changes == []
    assert again.counts["patients_unchanged"] == 28
