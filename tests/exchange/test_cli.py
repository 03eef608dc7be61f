"""manage.py export_dataset: same permissions, audit and manifest as the page."""

import csv
import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command

from exchange.models import ExportJob
from registry.models import AuditEvent
from tests.exchange.helpers import rows


def test_cli_writes_the_zip_with_manifest(seeded, pi_user, tmp_path, capsys):
    out = tmp_path / "study.zip"
    call_command(
        "export_dataset",
        "--out",
        str(out),
        "--user",
        "petra",
        "--centers",
        "AAA",
        "--formats",
        "csv,redcap,sav",
        "--date-mode",
        "shifted",
    )
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert manifest["scope"]["centers"] == ["AAA"]
    assert manifest["settings"]["date_mode"] == "shifted"
    assert manifest["row_counts"]["tables/registration.csv"] == 4
    assert "4 patients" in capsys.readouterr().out


def test_cli_export_is_logged(seeded, pi_user, tmp_path):
    call_command("export_dataset", "--out", str(tmp_path / "a.zip"), "--user", "petra")
    job = ExportJob.objects.get()
    assert (job.created_by, job.status) == (pi_user, "done")
    assert AuditEvent.objects.filter(action="export", detail__stage="done").count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody"], "--user: no active user named 'nobody'"),
        (["--user", "petra", "--formats", "csv,pdf"], "formats: unknown format(s) pdf"),
        (["--user", "petra", "--centers", "XYZ"], "centers: unknown centre code(s) XYZ"),
        (["--user", "adam", "--identified"], "reason: an identified export needs a reason"),
        (["--user", "alice", "--centers", "BBB"], "own centre (AAA) only"),
    ],
)
def test_cli_bad_arguments_give_a_clear_message_and_export_nothing(
    seeded, pi_user, admin_user, coordinator_a, tmp_path, args, message
):
    out = tmp_path / "x.zip"
    with pytest.raises(CommandError) as error:
        call_command("export_dataset", "--out", str(out), *args)
    assert message in str(error.value)
    assert not out.exists()
    assert ExportJob.objects.count() == 0


def test_cli_refuses_an_output_that_is_not_a_zip(pi_user, tmp_path):
    with pytest.raises(CommandError, match=r"--out: must end in \.zip"):
        call_command("export_dataset", "--out", str(tmp_path / "x.csv"), "--user", "petra")


def test_cli_identified_export_with_permission_and_reason(seeded, export_admin, tmp_path):
    out = tmp_path / "full.zip"
    call_command(
        "export_dataset",
        "--out",
        str(out),
        "--user",
        "exa",
        "--identified",
        "--reason",
        "Monitoring visit",
    )
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert (manifest["label"], manifest["reason"]) == ("IDENTIFIED", "Monitoring visit")


def test_pseudonym_map_command_maps_an_exports_ids_back(seeded, pi_user, admin_user, tmp_path):
    call_command("export_dataset", "--out", str(tmp_path / "a.zip"), "--user", "petra")
    job = ExportJob.objects.get()
    call_command(
        "export_pseudonyms",
        "--job",
        str(job.pk),
        "--user",
        "adam",
        "--out",
        str(tmp_path / "map.csv"),
    )
    mapping = dict(csv.reader(io.StringIO((tmp_path / "map.csv").read_text())))
    exported = {
        r["study_id"] for r in rows(zipfile.ZipFile(tmp_path / "a.zip"), "tables/registration.csv")
    }
    assert {mapping[p] for p in exported} == {s.patient.study_id for s in seeded["locked"]}


def test_pseudonym_map_command_refuses_a_non_admin(seeded, pi_user, tmp_path):
    call_command("export_dataset", "--out", str(tmp_path / "a.zip"), "--user", "petra")
    job = ExportJob.objects.get()
    with pytest.raises(CommandError, match="Only administrators"):
        call_command(
            "export_pseudonyms",
            "--job",
            str(job.pk),
            "--user",
            "petra",
            "--out",
            str(tmp_path / "map.csv"),
        )
    assert not (tmp_path / "map.csv").exists()
