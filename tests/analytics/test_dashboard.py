"""The PI dashboard: who sees what, figures, tables and their CSV, status, what changed.

The finished run (tests/analytics/conftest.py) is built once for the module; the locks,
runs and patients a test adds are rolled back with its transaction.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics import services
from analytics.models import AnalysisRun
from analytics.presenters import p_relation
from tests.builders import build_casebook, register_patient
from tests.factories import TEST_PASSWORD


def _login(client, user):
    assert client.login(username=user.username, password=TEST_PASSWORD)
    return client


def test_anonymous_user_is_sent_to_the_login_page(client):
    response = client.get(reverse("analytics:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", ["pi_user", "data_manager", "admin_user"])
def test_study_wide_roles_see_the_dashboard_with_both_km_figures(
    client, request, role, finished_run
):
    html = _login(client, request.getfixturevalue(role)).get(reverse("analytics:dashboard"))
    text = html.content.decode()
    assert 'id="km-os"' in text and 'id="km-pfs"' in text
    # OS, PFS, forest (+ subgroups): files by URL, none inline (test_figure_files.py)
    assert text.count(f"/analytics/runs/{finished_run.pk}/figures/") >= 3
    assert "<svg" not in text


def test_site_staff_see_only_their_centres_enrolment_page(
    client, coordinator_a, coordinator_b, finished_run
):
    register_patient(coordinator_b)
    text = _login(client, coordinator_a).get(reverse("analytics:dashboard")).content.decode()
    assert "Enrolment and casebook completeness at your centre" in text
    assert 'id="center-AAA"' in text
    # No row, study id or name of the other centre (the page's CSRF token may hold "BBB").
    assert 'id="center-BBB"' not in text and "BBB-" not in text and "Beta Hospital" not in text
    assert "<svg" not in text and "/figures/" not in text
    assert (
        "<strong>2</strong> registered · <strong>2</strong> enrolled · "
        "<strong>2</strong> casebooks locked" in text
    )


def test_site_staff_get_404_for_status_and_downloads(client, coordinator_a, finished_run):
    _login(client, coordinator_a)
    assert client.get(reverse("analytics:status")).status_code == 404
    url = reverse("analytics:run_bundle", args=[finished_run.pk])
    assert client.get(url).status_code == 404


def test_headline_says_how_many_registered_patients_are_locked(
    client, pi_user, coordinator_a, finished_run
):
    build_casebook(coordinator_a, complete=True)  # registered, not locked
    text = _login(client, pi_user).get(reverse("analytics:dashboard")).content.decode()
    assert "2 of 3" in text and "registered patients locked" in text


def test_table1_csv_holds_the_bundles_rows(client, pi_user, finished_run):
    _login(client, pi_user)
    response = client.get(reverse("analytics:run_table1_csv", args=[finished_run.pk]))
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    bundle_rows = finished_run.bundle["table1"]
    assert [r["variable"] for r in rows] == [r["variable"] for r in bundle_rows]
    assert [r["n"] for r in rows] == [str(r["n"]) for r in bundle_rows]
    age = rows[0]
    assert (age["variable"], age["median"]) == ("age_years", str(bundle_rows[0]["median"]))


def test_adverse_event_csv_holds_the_bundles_rows(client, pi_user, finished_run):
    _login(client, pi_user)
    response = client.get(reverse("analytics:run_ae_csv", args=[finished_run.pk]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    # builders: each casebook has one grade-1 cough, not immune-related.
    by_term = {r["term"]: r for r in rows}
    assert by_term["Cough"]["any_grade_n"] == "2"
    assert by_term["Cough"]["any_grade_pct"] == "100.0"
    assert by_term["Cough"]["grade_3_5_n"] == "0"
    assert len(rows) == len(finished_run.bundle["ae_table"])


def test_bundle_download_is_the_stored_bundle(client, pi_user, finished_run):
    _login(client, pi_user)
    response = client.get(reverse("analytics:run_bundle", args=[finished_run.pk]))
    assert json.loads(response.content) == finished_run.bundle
    assert "attachment" in response["Content-Disposition"]


def test_status_endpoint_reports_the_active_runs_progress(
    client, pi_user, finished_run, dispatched
):
    run = services.run_start_manual(user=pi_user)
    AnalysisRun.objects.filter(pk=run.pk).update(
        status="running", started_at=timezone.now(), progress=40, step="computing"
    )
    state = _login(client, pi_user).get(reverse("analytics:status")).json()
    assert state["active"]["id"] == run.pk
    assert (state["active"]["status"], state["active"]["progress"]) == ("running", 40)
    assert state["latest_done_id"] == finished_run.pk


def test_failed_run_shows_its_message_to_the_pi(
    client, pi_user, finished_run, dispatched, lock_new_casebook
):
    lock_new_casebook()  # new data, so the run cannot reuse the finished one
    run = AnalysisRun.objects.get(pk=dispatched[-1])
    services.run_execute(run.pk, engine=lambda *a: 1 / 0)  # a bug in the engine (test double)
    text = _login(client, pi_user).get(reverse("analytics:dashboard")).content.decode()
    assert f"Run #{run.pk} failed: ZeroDivisionError: division by zero" in text


def test_what_changed_reports_new_locks_and_patients(
    client, pi_user, finished_run, lock_new_casebook
):
    lock_new_casebook()
    text = _login(client, pi_user).get(reverse("analytics:dashboard")).content.decode()
    assert "+1 patient analysed (3 in all)" in text
    assert "1 casebook locked" in text


def test_cox_section_states_the_direction_and_shows_warnings_next_to_the_term(
    client, pi_user, finished_run
):
    text = _login(client, pi_user).get(reverse("analytics:dashboard")).content.decode()
    assert "HR &gt; 1: higher hazard of death" in text
    # Identical builder casebooks: every patient is over 60, so the engine cannot estimate it.
    row = text[text.index("<td>Age &gt; 60 vs ≤ 60</td>") :]
    row = row[: row.index("</tr>")]
    assert "not estimable" in row
    assert "⚠" in row


def test_a_small_p_value_reads_with_one_relation_sign():
    assert (p_relation(0.0237), p_relation(0.00009)) == ("= 0.024", "< 0.001")
