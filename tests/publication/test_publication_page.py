"""The Publication page, its files and ZIP, and ``manage.py publication_pack``.

The finished run (two locked casebooks, tests/analytics/conftest.py) is built once for the
module; what a test adds is rolled back with its transaction.
"""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.urls import reverse

from tests.builders import build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD

EXPECTED = {
    "figures/figure-1a-km-os.svg",
    "figures/figure-1b-km-pfs.png",
    "figures/figure-3-forest.pdf",
    "figures/figure-s3-flow.svg",
    "tables/tables-and-methods.docx",
    "tables/tables.xlsx",
    "tables/table-1-baseline.csv",
    "methods.txt",
    "README.txt",
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _login(client, user):
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


@pytest.mark.parametrize("role", ["pi_user", "data_manager", "admin_user"])
def test_study_wide_roles_see_previews_tables_and_the_download(client, request, role, finished_run):
    text = (
        _login(client, request.getfixturevalue(role))
        .get(reverse("publication:pack"))
        .content.decode()
    )
    assert f"analysis run #{finished_run.pk}, the latest complete run" in text
    assert reverse("publication:pack_file", args=["figures/figure-1a-km-os.svg"]) in text
    assert 'id="table-1-baseline"' in text and 'id="table-2-cox"' in text
    assert 'id="download-all"' in text and "Download all (ZIP)" in text
    assert "Statistical analysis" in text


@pytest.mark.parametrize("role", ["coordinator_a", "investigator_a"])
def test_site_staff_get_404_for_the_page_its_files_and_the_zip(client, request, role, finished_run):
    _login(client, request.getfixturevalue(role))
    assert client.get(reverse("publication:pack")).status_code == 404
    assert client.get(reverse("publication:pack_zip")).status_code == 404
    url = reverse("publication:pack_file", args=["methods.txt"])
    assert client.get(url).status_code == 404
    # and the dashboard gives them the same refusal for its downloads
    assert client.get(reverse("analytics:run_bundle", args=[finished_run.pk])).status_code == 404


def test_nav_links_the_publication_page_for_the_pi_only(
    client, pi_user, coordinator_a, finished_run
):
    url = reverse("publication:pack")
    assert url in _login(client, pi_user).get(reverse("analytics:dashboard")).content.decode()
    client.logout()
    assert (
        url
        not in _login(client, coordinator_a).get(reverse("analytics:dashboard")).content.decode()
    )


def test_anonymous_user_is_sent_to_the_login_page(client, finished_run):
    response = client.get(reverse("publication:pack_zip"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_zip_holds_every_figure_and_table_of_the_run(client, pi_user, finished_run):
    response = _login(client, pi_user).get(reverse("publication:pack_zip"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert f"manuscript-pack-run-{finished_run.pk}.zip" in response["Content-Disposition"]
    names = set(zipfile.ZipFile(io.BytesIO(response.content)).namelist())
    assert names >= EXPECTED
    readme = zipfile.ZipFile(io.BytesIO(response.content)).read("README.txt").decode()
    assert finished_run.dataset_sha256 in readme


def test_a_file_is_served_by_its_name_and_an_unknown_name_is_404(client, pi_user, finished_run):
    _login(client, pi_user)
    svg = client.get(reverse("publication:pack_file", args=["figures/figure-1a-km-os.svg"]))
    assert svg.status_code == 200 and svg["Content-Type"] == "image/svg+xml"
    assert f"Analysis run #{finished_run.pk}" in svg.content.decode()
    missing = client.get(reverse("publication:pack_file", args=["figures/../../settings.py"]))
    assert missing.status_code == 404


def test_a_pack_is_refused_with_a_reason_when_the_data_changed_since_the_run(
    client, pi_user, coordinator_a, investigator_a, finished_run
):
    # Locked without running the after-commit hooks: no new run on the changed data yet.
    lock_casebook(build_casebook(coordinator_a, complete=True), investigator_a, TEST_PASSWORD)
    _login(client, pi_user)
    page = client.get(reverse("publication:pack")).content.decode()
    assert "The locked data changed since analysis run" in page
    assert 'id="download-all"' not in page
    response = client.get(reverse("publication:pack_zip"))
    assert response.status_code == 409
    assert "locked data changed" in response.content.decode()


def test_a_final_run_is_the_one_the_page_shows(client, pi_user, finished_run):
    from django.utils import timezone

    finished_run.final_at, finished_run.final_by = timezone.now(), pi_user
    finished_run.save(update_fields=["final_at", "final_by"])
    text = _login(client, pi_user).get(reverse("publication:pack")).content.decode()
    assert f"analysis run #{finished_run.pk}, marked final" in text


def test_publication_pack_command_writes_the_same_files(tmp_path, finished_run):
    out = io.StringIO()
    call_command("publication_pack", "--out", str(tmp_path / "pack"), stdout=out)
    written = {
        str(p.relative_to(tmp_path / "pack")) for p in (tmp_path / "pack").rglob("*") if p.is_file()
    }
    assert written >= EXPECTED
    assert f"Analysis run #{finished_run.pk}" in out.getvalue()
