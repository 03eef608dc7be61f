"""A plan with the contract §7 options, through the service, a lock and a run: the bundle
holds the new keys, and the dashboard and the API still serve it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from analytics import services
from analytics.models import AnalysisRun
from analytics.stats.plan import reference_plan
from core.errors import ApplicationError
from registry import services as registry_services
from tests.builders import SECOND_LINE_START, assessment, build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD


def _plan() -> dict:
    plan = reference_plan()
    plan.update(compare_by=["ltr"], rmst_tau=6, response=True, firth="all")
    return plan


def test_a_bad_section_7_option_is_refused_by_the_plan_service(pi_user):
    plan = dict(_plan(), continuous_test="anova")
    with pytest.raises(ApplicationError, match="plan.continuous_test: unknown option 'anova'"):
        services.plan_create(user=pi_user, plan=plan)


def test_section_7_bundle_from_locked_casebooks_is_served_by_the_dashboard_and_api(
    client, api_pi, pi_user, coordinator_a, investigator_a, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.plan_create(user=pi_user, plan=_plan())
    for response in ("PR", "SD"):
        patient = build_casebook(coordinator_a)
        registry_services.crf_record_save(
            user=coordinator_a,
            patient=patient,
            section="assessments",
            data=assessment(
                assessment_date=SECOND_LINE_START + timedelta(days=56),
                line="2L",
                overall_response=response,
            ),
        )
        registry_services.casebook_mark_complete(user=coordinator_a, patient=patient)
        with django_capture_on_commit_callbacks(execute=True):
            lock_casebook(patient, investigator_a, TEST_PASSWORD)
    run = AnalysisRun.objects.filter(status="done").order_by("-pk").first()
    assert run.n_analysed == 2
    bundle = run.bundle
    assert bundle["response"]["best_response"]["PR"] == 1
    assert bundle["response"]["orr"]["n"] == 1 and bundle["response"]["dcr"]["n"] == 2
    assert bundle["comparisons"][0]["by"] == "ltr"
    assert "rmst" in bundle["km"]["os"]
    assert client.login(username=pi_user.username, password=TEST_PASSWORD)
    assert client.get(reverse("analytics:dashboard")).status_code == 200
    latest = api_pi.get(reverse("api:analysis-latest"))
    assert latest.status_code == 200
    assert latest.json()["bundle"]["response"]["evaluable"] == 2
