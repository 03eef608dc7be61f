"""Analysis over the API: the plan (read; PI/admin write validated by the engine), runs
(list, read, trigger) and the latest bundle; the dashboard's access rule. The tests that
read a finished run share one, built once, in test_api_finished_run.py."""

from __future__ import annotations

import copy

import pytest
from django.urls import reverse

from analytics import services
from analytics.models import AnalysisPlan, AnalysisRun
from analytics.stats.plan import reference_plan
from core.errors import ApplicationError
from tests.api_support import assert_error

PLAN = reverse("api:analysis-plan")
RUNS = reverse("api:analysis-runs")
LATEST = reverse("api:analysis-latest")


@pytest.fixture
def demo_plan(db, django_capture_on_commit_callbacks):
    """The reference plan as v1; the run its creation queued runs eagerly (no data yet)."""
    with django_capture_on_commit_callbacks(execute=True):
        return services.plan_seed_demo()


def _bad_plan() -> dict:
    plan = copy.deepcopy(reference_plan())
    plan["name"] = "typo in a column"
    plan["covariates"][0]["column"] = "agee"
    return plan


# -- plan ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["api_pi", "api_dm", "api_admin"])
def test_study_wide_roles_read_the_current_plan(request, role, demo_plan):
    response = request.getfixturevalue(role).get(PLAN)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["version"], body["plan"]) == (1, reference_plan())
    assert body["plan_sha256"] == demo_plan.plan_sha256


def test_reading_the_plan_before_any_is_saved_is_404(api_pi):
    assert_error(api_pi.get(PLAN), 404, "not_found")


def test_pi_saves_a_new_plan_version_which_queues_a_run(
    api_pi, pi_user, demo_plan, django_capture_on_commit_callbacks
):
    plan = copy.deepcopy(reference_plan())
    plan["name"] = "v2: same analyses, new name"
    response = api_pi.post(PLAN, {"plan": plan, "note": "renamed"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["note"], body["created_by"]) == (2, "renamed", pi_user.username)
    assert AnalysisPlan.objects.get(version=2).plan == plan
    assert AnalysisRun.objects.filter(trigger="plan", triggered_by=pi_user).count() == 1


def test_bad_plan_is_400_with_the_engines_own_message_and_saves_nothing(api_pi, demo_plan):
    with pytest.raises(ApplicationError) as engine:
        services.plan_validate(_bad_plan())
    response = api_pi.post(PLAN, {"plan": _bad_plan()}, format="json")
    error = assert_error(response, 400, "invalid", field="plan")
    assert error["message"] == engine.value.message
    assert error["message"] == (
        "plan: agee: missing column in the patient table (needed by covariate age_gt60)"
    )
    assert AnalysisPlan.objects.count() == 1


def test_plan_that_is_not_a_json_object_is_400_naming_plan(api_pi, demo_plan):
    error = assert_error(api_pi.post(PLAN, {"plan": [1, 2]}, format="json"), 400, "invalid")
    assert error["fields"] == {"plan": ["Not an object."]}


def test_plan_with_a_list_as_primary_endpoint_is_400_not_500(api_pi, demo_plan):
    plan = copy.deepcopy(reference_plan())
    plan["primary_endpoint"] = ["os"]
    error = assert_error(api_pi.post(PLAN, {"plan": plan}, format="json"), 400, "invalid", "plan")
    assert "primary_endpoint" in error["message"]


def test_plan_with_a_null_character_is_400_and_saves_nothing(api_pi, demo_plan):
    plan = copy.deepcopy(reference_plan())
    plan["name"] = "v2\x00"
    response = api_pi.post(PLAN, {"plan": plan}, format="json")
    # Refused by the API's parser, naming the place in the plan (core/api/parsers.py).
    error = assert_error(response, 400, "invalid", "plan.name")
    assert error["fields"]["plan.name"] == [
        "Control characters are not allowed in text (found U+0000 at position 3)."
    ]
    assert AnalysisPlan.objects.count() == 1


def test_missing_plan_is_400_naming_plan(api_admin):
    assert_error(api_admin.post(PLAN, {"note": "x"}, format="json"), 400, "invalid", field="plan")


def test_data_manager_may_not_change_the_plan(api_dm, demo_plan):
    plan = copy.deepcopy(reference_plan())
    plan["name"] = "changed"
    error = assert_error(api_dm.post(PLAN, {"plan": plan}, format="json"), 403, "forbidden")
    assert "PI" in error["message"]
    assert AnalysisPlan.objects.count() == 1


# -- who may see the analysis ------------------------------------------------------------------


def test_unsupported_method_is_405_for_site_staff_too(api_a):
    assert_error(api_a.generic("TRACE", LATEST), 405, "method_not_allowed")


# -- runs -----------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_page_by_page_without_bundles(api_dm, demo_plan):
    first = AnalysisRun.objects.get()  # the plan's own run
    later = [AnalysisRun.objects.create(trigger="manual") for _ in range(2)]
    page = api_dm.get(RUNS, {"page_size": 2}).json()
    assert [r["id"] for r in page["results"]] == [later[1].pk, later[0].pk]
    assert "bundle" not in page["results"][0]
    rest = api_dm.get(page["next"]).json()
    assert [r["id"] for r in rest["results"]] == [first.pk]
    assert rest["next"] is None


def test_options_on_the_runs_is_answered(api_dm):
    assert api_dm.options(RUNS).status_code == 200


def test_runs_list_refuses_an_unknown_query_parameter(api_dm):
    assert_error(api_dm.get(RUNS, {"status": "done"}), 400, "invalid", field="status")


def test_unknown_run_is_404(api_pi):
    assert_error(api_pi.get(reverse("api:analysis-run", args=[999999])), 404, "not_found")


def test_manual_trigger_queues_a_run_started_by_hand(api_dm, data_manager, demo_plan):
    response = api_dm.post(RUNS)
    assert response.status_code == 202, response.content
    body = response.json()
    assert (body["status"], body["trigger"], body["triggered_by"]) == (
        "queued",
        "manual",
        data_manager.username,
    )
    assert AnalysisRun.objects.get(pk=body["id"]).trigger == "manual"


def test_second_trigger_joins_the_run_already_waiting(api_dm, demo_plan):
    first = api_dm.post(RUNS).json()
    second = api_dm.post(RUNS).json()
    assert second["id"] == first["id"]
    assert AnalysisRun.objects.get(pk=first["id"]).coalesced == 1


def test_manual_trigger_without_a_plan_is_409(api_admin):
    error = assert_error(api_admin.post(RUNS), 409, "no_plan")
    assert "plan" in error["message"]
    assert not AnalysisRun.objects.exists()


# -- latest bundle ------------------------------------------------------------------------------


def test_latest_before_any_finished_run_is_404(api_pi):
    assert_error(api_pi.get(LATEST), 404, "not_found")
