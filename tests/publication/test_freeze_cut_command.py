"""``manage.py freeze_cut``: the freeze service for scripts."""

from __future__ import annotations

import zipfile
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from publication.models import DataCut
from registry.models import AuditEvent
from tests import people

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _study(small_study):
    return small_study


def test_freeze_cut_freezes_as_the_named_user_and_writes_the_kit(tmp_path):
    people.pi_user()
    out = StringIO()
    call_command(
        "freeze_cut",
        "Manuscript v1",
        user="petra",
        note="by script",
        kit=str(tmp_path / "kit.zip"),
        stdout=out,
    )
    cut = DataCut.objects.get()
    assert (cut.name, cut.note, cut.created_by.username) == ("Manuscript v1", "by script", "petra")
    assert f"Data cut #{cut.pk}" in out.getvalue() and cut.dataset_sha256 in out.getvalue()
    assert f"data-cut-{cut.pk}-kit/reproduce.R" in zipfile.ZipFile(tmp_path / "kit.zip").namelist()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.CUT_FREEZE, user=cut.created_by)


def test_a_taken_name_exits_2_naming_the_field():
    people.pi_user()
    call_command("freeze_cut", "Manuscript v1", user="petra", stdout=StringIO())
    with pytest.raises(CommandError, match="^name: ") as refused:
        call_command("freeze_cut", "Manuscript v1", user="petra", stdout=StringIO())
    assert refused.value.returncode == 2
    assert DataCut.objects.count() == 1


def test_an_unknown_user_or_a_site_role_is_refused():
    with pytest.raises(CommandError, match="--user: no active user"):
        call_command("freeze_cut", "X", user="nobody", stdout=StringIO())
    people.coordinator_a(people.center_a())
    with pytest.raises(CommandError, match="PIs, data managers and administrators"):
        call_command("freeze_cut", "X", user="alice", stdout=StringIO())
    assert not DataCut.objects.exists()
