"""A finished run over the API: read with its bundle, the latest bundle, and who may not.

Every test here reads one finished run (the demo plan's run on two locked casebooks, built
once for the module by tests/analytics/conftest.py); whatever a test writes (a queued run,
a token) is rolled back with its transaction. The plan and trigger endpoints, which need a
database without that run, are in test_api.py.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from analytics import services
from analytics.models import AnalysisRun
from analytics.stats.plan import reference_plan
from tests.api_support import assert_error, token_client

PLAN = reverse("api:analysis-plan")
RUNS = reverse("api:analysis-runs")
LATEST = reverse("api:analysis-latest")

# -- who may see the analysis ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", PLAN), ("post", PLAN), ("get", RUNS), ("post", RUNS), ("get", LATEST)],
)
def test_site_staff_are_refused_every_analysis_endpoint(api_a, finished_run, method, url):
    if method == "post":
        body = {"plan": reference_plan()} if url == PLAN else None
        response = api_a.post(url, body, format="json")
    else:
        response = api_a.get(url)
    assert_error(response, 403, "forbidden")


def test_site_staff_may_not_read_a_run(api_investigator, finished_run):
    url = reverse("api:analysis-run", args=[finished_run.pk])
    assert_error(api_investigator.get(url), 403, "forbidden")


def test_anonymous_client_gets_401(finished_run):
    assert_error(APIClient().get(LATEST), 401, "not_authenticated")


# -- runs -----------------------------------------------------------------------------------


def test_a_run_is_read_with_its_bundle(api_pi, finished_run):
    response = api_pi.get(reverse("api:analysis-run", args=[finished_run.pk]))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["n_analysed"], body["plan_version"]) == ("done", 2, 1)
    assert body["bundle"] == finished_run.bundle
    assert body["bundle"]["km"]["os"]["n"] == 2


# -- latest bundle ------------------------------------------------------------------------------


def test_latest_is_the_newest_finished_run_with_its_bundle(api_pi, finished_run):
    AnalysisRun.objects.create(trigger="manual")  # queued: not finished, not shown
    body = api_pi.get(LATEST).json()
    assert body["id"] == finished_run.pk
    assert body["bundle"]["km"]["os"]["n"] == 2
    assert body["changes"]  # what changed since the previous run, as on the dashboard


def test_admin_reads_the_latest_bundle_with_a_token(admin_user, finished_run):
    assert token_client(admin_user).get(LATEST).json()["n_analysed"] == 2


def test_a_run_marked_final_says_when_and_by_whom(api_pi, finished_run, pi_user):
    url = reverse("api:analysis-run", args=[finished_run.pk])
    assert api_pi.get(url).json()["final_at"] is None
    services.run_mark_final(user=pi_user, run_id=finished_run.pk)
    body = api_pi.get(url).json()
    assert body["final_by"] == "petra" and body["final_at"] is not None
