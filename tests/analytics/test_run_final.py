"""A run marked final, and the quality of the data behind the dashboard's numbers.

The finished run (tests/analytics/conftest.py: the demo plan on two locked casebooks of
centre AAA) is built once for the module; each test's queries and marks roll back.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from analytics import services
from analytics.models import AnalysisRun
from core.errors import ApplicationError, ErrorCode
from quality import services as quality_services
from registry.models import Patient


def _locked_patients():
    return list(Patient.objects.filter(casebook_status="locked").order_by("pk"))


def _query_on(patient, data_manager):
    return quality_services.query_raise(
        user=data_manager, patient=patient, section="baseline", field="weight_kg", text="?"
    )


def test_pi_marks_a_finished_run_final(finished_run, pi_user):
    run = services.run_mark_final(user=pi_user, run_id=finished_run.pk)
    assert run.final_by == pi_user and run.final_at is not None
    assert AnalysisRun.objects.get(pk=finished_run.pk).final_at == run.final_at


def test_a_run_cannot_be_final_while_a_locked_casebook_has_an_unresolved_query(
    finished_run, pi_user, data_manager
):
    query = _query_on(_locked_patients()[0], data_manager)
    with pytest.raises(ApplicationError) as info:
        services.run_mark_final(user=pi_user, run_id=finished_run.pk)
    assert "1 data query is still unresolved on locked casebooks" in info.value.message
    assert AnalysisRun.objects.get(pk=finished_run.pk).final_at is None
    quality_services.query_close(user=data_manager, query_id=query.pk)
    assert services.run_mark_final(user=pi_user, run_id=finished_run.pk).final_at is not None


@pytest.mark.parametrize("who", ["data_manager", "coordinator_a", "investigator_a"])
def test_only_the_pi_or_an_administrator_marks_a_run_final(request, who, finished_run):
    with pytest.raises(ApplicationError) as info:
        services.run_mark_final(user=request.getfixturevalue(who), run_id=finished_run.pk)
    assert info.value.code == ErrorCode.FORBIDDEN


def test_an_unfinished_run_cannot_be_final(finished_run, pi_user):
    queued = AnalysisRun.objects.create(trigger=AnalysisRun.Trigger.MANUAL)
    with pytest.raises(ApplicationError, match="only a finished run can be final"):
        services.run_mark_final(user=pi_user, run_id=queued.pk)


def test_dashboard_shows_how_many_analysed_patients_have_unresolved_queries(
    client, finished_run, pi_user, data_manager
):
    _query_on(_locked_patients()[0], data_manager)
    client.force_login(pi_user)
    text = client.get(reverse("analytics:dashboard")).content.decode()
    assert "<strong>1</strong> of 2 analysed patients has an unresolved data query" in text
    # Nothing verified yet: 0 % of the entered critical values.
    assert "<strong>0.0 %</strong> of critical values verified against source" in text
    assert f"Mark run #{finished_run.pk} final" in text


def test_the_dashboards_final_button_refuses_with_the_reason(
    client, finished_run, pi_user, data_manager
):
    _query_on(_locked_patients()[1], data_manager)
    client.force_login(pi_user)
    url = reverse("analytics:run_final", args=[finished_run.pk])
    response = client.post(url, follow=True)
    assert "still unresolved on locked casebooks" in response.content.decode()
    assert AnalysisRun.objects.get(pk=finished_run.pk).final_at is None


def test_site_staff_cannot_mark_a_run_final_from_the_page(client, finished_run, coordinator_a):
    client.force_login(coordinator_a)
    response = client.post(reverse("analytics:run_final", args=[finished_run.pk]))
    assert response.status_code == 404  # the dashboard's pages are hidden from site staff
    assert AnalysisRun.objects.get(pk=finished_run.pk).final_at is None


def _final_url(run) -> str:
    return f"/api/v1/analysis/runs/{run.pk}/final/"


def test_the_api_marks_a_run_final(api_pi, finished_run, pi_user):
    response = api_pi.post(_final_url(finished_run))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["final_by"]) == (finished_run.pk, pi_user.username)
    assert AnalysisRun.objects.get(pk=finished_run.pk).final_at is not None


def test_the_api_refuses_final_with_an_unresolved_query_and_to_a_data_manager(
    api_pi, api_dm, finished_run, data_manager
):
    _query_on(_locked_patients()[0], data_manager)
    refused = api_pi.post(_final_url(finished_run))
    assert (refused.status_code, refused.json()["error"]["code"]) == (400, "invalid")
    assert "still unresolved" in refused.json()["error"]["message"]
    assert api_dm.post(_final_url(finished_run)).status_code == 403
    assert AnalysisRun.objects.get(pk=finished_run.pk).final_at is None


def test_the_dashboards_counts_follow_each_write_at_once(
    client, finished_run, pi_user, data_manager, coordinator_a
):
    # The counts are kept between requests under a version of the data (issue 16): a
    # registration and a query must each show on the very next request.
    from tests.builders import register_patient

    client.force_login(pi_user)
    text = client.get(reverse("analytics:dashboard")).content.decode()
    assert "2 of 2" in text
    assert "<strong>0</strong> of 2 analysed patients have unresolved data queries" in text
    register_patient(coordinator_a)
    text = client.get(reverse("analytics:dashboard")).content.decode()
    assert "2 of 3" in text
    _query_on(_locked_patients()[0], data_manager)
    text = client.get(reverse("analytics:dashboard")).content.decode()
    assert "<strong>1</strong> of 2 analysed patients has an unresolved data query" in text
