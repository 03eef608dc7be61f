"""The analysis plan: versioned, edited by PI/admin only, validated by the engine."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from analytics import services
from analytics.models import AnalysisPlan, AnalysisRun
from tests.factories import TEST_PASSWORD


def _post_plan(client, user, plan, note=""):
    client.login(username=user.username, password=TEST_PASSWORD)
    text = plan if isinstance(plan, str) else json.dumps(plan)
    return client.post(reverse("analytics:plan"), {"plan": text, "note": note})


def test_plan_form_rejects_an_unknown_column_with_the_engines_message(client, pi_user, demo_plan):
    plan = demo_plan.plan
    plan["covariates"][0]["column"] = "agee"
    response = _post_plan(client, pi_user, plan)
    assert response.status_code == 200
    assert (
        "plan: agee: missing column in the patient table (needed by covariate age_gt60)"
        in response.content.decode()
    )
    assert AnalysisPlan.objects.count() == 1


def test_plan_form_rejects_a_bad_cut(client, pi_user, demo_plan):
    plan = demo_plan.plan
    plan["covariates"][0]["cut"] = "mean"
    response = _post_plan(client, pi_user, plan)
    assert (
        "cut must be a number or &quot;median&quot;, got &#x27;mean&#x27;"
        in response.content.decode()
    )
    assert AnalysisPlan.objects.count() == 1


def test_plan_form_rejects_invalid_json_naming_the_line(client, pi_user, demo_plan):
    response = _post_plan(client, pi_user, '{"alpha": 0.05,\n "km_ci": }')
    assert "plan: invalid JSON: Expecting value (line 2" in response.content.decode()
    assert AnalysisPlan.objects.count() == 1


def test_pi_saving_a_plan_adds_a_version_and_queues_a_run(
    client, pi_user, demo_plan, django_capture_on_commit_callbacks
):
    plan = demo_plan.plan | {"alpha": 0.1}
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_plan(client, pi_user, plan, note="alpha 0.1 for a pilot look")
    assert response.status_code == 302
    current = services.plan_current()
    assert (current.version, current.created_by, current.note) == (
        2,
        pi_user,
        "alpha 0.1 for a pilot look",
    )
    assert current.plan["alpha"] == 0.1
    assert AnalysisRun.objects.filter(trigger="plan", plan=current, status="done").exists()


@pytest.mark.parametrize("role_fixture", ["data_manager"])
def test_only_pi_or_admin_may_change_the_plan(client, request, role_fixture, demo_plan):
    user = request.getfixturevalue(role_fixture)
    response = _post_plan(client, user, demo_plan.plan | {"alpha": 0.1})
    assert response.status_code == 403
    assert AnalysisPlan.objects.count() == 1


def test_plan_seed_demo_is_idempotent(db):
    first = services.plan_seed_demo()
    second = services.plan_seed_demo()
    assert first.pk == second.pk
    assert AnalysisPlan.objects.count() == 1
    assert first.plan["km_ci"] == "spss"
    assert len(first.plan["covariates"]) == 12
    assert first.plan["subgroups"] == ["ltr", "dpr_hi"]
