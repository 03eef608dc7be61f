"""The dashboard's figures as files (issue 16): referenced by <img> with alt text, drawn on
the first request per run and language, served with an ETag (304 when it still holds),
reached only through the analyses' centre scope, and never drawn by the run itself."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from django.utils import translation

from analytics import figure_files, presenters
from analytics.models import AnalysisRun
from tests.factories import TEST_PASSWORD


def _login(client, user):
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def _figure_url(run, name, language="en-gb"):
    return reverse("analytics:run_figure", args=[run.pk, language, name])


def _images(page: str) -> dict[str, str]:
    """src → alt of every <img> of the page."""
    return dict(re.findall(r'<img src="([^"]+)" alt="([^"]*)"', page))


def test_dashboard_references_each_figure_by_url_with_alt_text(client, pi_user, finished_run):
    page = _login(client, pi_user).get(reverse("analytics:dashboard")).content.decode()
    images = _images(page)
    assert "<svg" not in page
    km_os = images[_figure_url(finished_run, "km-os")]
    assert km_os.startswith("Kaplan–Meier curve of overall survival. Median ")
    assert "events in 2 patients." in km_os
    assert _figure_url(finished_run, "km-pfs") in images
    assert images[_figure_url(finished_run, "forest")].startswith("Forest plot of Cox regression")


def test_a_figure_is_an_svg_file_with_an_etag(client, pi_user, finished_run, _figure_files):
    response = _login(client, pi_user).get(_figure_url(finished_run, "km-os"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "private, no-cache"
    body = b"".join(response.streaming_content).decode()
    assert body.startswith("<svg") and "Months since start of second-line treatment" in body
    etag = response["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    drawn = list(_figure_files.rglob("*.svg"))
    assert len(drawn) == 1 and drawn[0].read_text() == body
    assert drawn[0].parts[-3:-1] == (f"run-{finished_run.pk}", "en-gb")


def test_a_request_holding_the_etag_gets_304_and_nothing_is_drawn_again(
    client, pi_user, finished_run, monkeypatch
):
    _login(client, pi_user)
    url = _figure_url(finished_run, "forest")
    first = client.get(url)
    first_body = b"".join(first.streaming_content)

    def no_drawing(*args, **kwargs):
        raise AssertionError("drawn again")

    monkeypatch.setattr(presenters, "draw_figure", no_drawing)
    again = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    stale = client.get(url, HTTP_IF_NONE_MATCH='"0123456789abcdef0123456789abcdef"')
    assert stale.status_code == 200  # served from its file
    assert b"".join(stale.streaming_content) == first_body


def test_a_new_run_gives_new_figure_urls_and_etags(
    client, pi_user, finished_run, lock_new_casebook
):
    _login(client, pi_user)
    old_etag = client.get(_figure_url(finished_run, "km-os"))["ETag"]
    lock_new_casebook()
    new_run = AnalysisRun.objects.filter(status="done").order_by("-pk").first()
    assert new_run.pk != finished_run.pk and new_run.reused_from_id is None
    images = _images(client.get(reverse("analytics:dashboard")).content.decode())
    assert _figure_url(new_run, "km-os") in images
    assert _figure_url(finished_run, "km-os") not in images
    assert client.get(_figure_url(new_run, "km-os"))["ETag"] != old_etag


def test_a_run_that_reused_a_bundle_shows_the_figures_of_the_run_that_computed_it(
    client, pi_user, finished_run, dispatched
):
    from analytics import services

    reusing = services.run_start_manual(user=pi_user)  # same data and plan: reused
    assert services.run_execute(reusing.pk) == "reused"
    images = _images(_login(client, pi_user).get(reverse("analytics:dashboard")).content.decode())
    assert _figure_url(finished_run, "km-os") in images
    assert client.get(_figure_url(reusing, "km-os")).status_code == 200


def test_user_of_a_centre_gets_404_for_a_figure_of_the_study_wide_analysis(
    client, coordinator_a, investigator_a, pi_user, finished_run, _figure_files
):
    # The bundle holds every centre's casebooks: outside the scope of a user of one centre,
    # whether or not the figure was drawn already.
    url = _figure_url(finished_run, "km-os")
    for user in (coordinator_a, investigator_a):
        assert _login(client, user).get(url).status_code == 404
        assert not list(_figure_files.rglob("*.svg"))
    assert _login(client, pi_user).get(url).status_code == 200
    assert _login(client, coordinator_a).get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_unknown_figure_language_or_run_is_404(client, pi_user, finished_run, dispatched):
    from analytics import services

    _login(client, pi_user)
    assert client.get(_figure_url(finished_run, "km-nothing")).status_code == 404
    assert client.get(_figure_url(finished_run, "km-os", "xx-yy")).status_code == 404
    queued = services.run_start_manual(user=pi_user)
    assert client.get(_figure_url(queued, "km-os")).status_code == 404
    assert (
        client.get(reverse("analytics:run_figure", args=[10**9, "en-gb", "km-os"])).status_code
        == 404
    )


def test_a_figure_is_drawn_in_the_language_of_its_url(client, pi_user, finished_run, monkeypatch):
    languages = []
    draw = presenters.draw_figure

    def recording(bundle, name):
        languages.append(translation.get_language())
        return draw(bundle, name)

    monkeypatch.setattr(presenters, "draw_figure", recording)
    _login(client, pi_user)
    english = client.get(_figure_url(finished_run, "km-os"))
    chinese = client.get(_figure_url(finished_run, "km-os", "zh-hans"))
    assert (english.status_code, chinese.status_code) == (200, 200)
    assert languages == ["en-gb", "zh-hans"]
    assert english["ETag"] != chinese["ETag"]
    path = figure_files.figure_file(finished_run, "zh-hans", "km-os").path
    assert path.exists() and path.parent.name == "zh-hans"


def test_the_run_draws_no_figures(finished_run, lock_new_casebook, _figure_files):
    lock_new_casebook()
    run = AnalysisRun.objects.filter(status="done").order_by("-pk").first()
    assert run.pk != finished_run.pk
    assert set(run.timings) == {"tables", "engine", "store"}
    assert not _figure_files.exists()


def test_only_the_newest_runs_figures_stay_on_disk(_figure_files):
    for run_id in (3, 10, 11, 12, 13, 14, 2):
        (_figure_files / f"run-{run_id}" / "en-gb").mkdir(parents=True)
    assert sorted(figure_files.figures_prune(keep=5)) == [2, 3]
    assert sorted(p.name for p in _figure_files.iterdir()) == [
        f"run-{n}" for n in (10, 11, 12, 13, 14)
    ]


@pytest.mark.parametrize("name", ["km-os", "km-pfs", "subgroup-ltr-os", "forest"])
def test_figure_alt_text_and_drawing_come_from_one_spec(finished_run, name):
    spec = presenters.figure_spec(finished_run.bundle, name)
    assert spec is not None and spec.alt
    assert spec.draw().startswith("<svg")
