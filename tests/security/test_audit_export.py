"""The study-wide audit trail export for inspectors: CSV and JSON, filters, streamed, and
scoped to what the requester may see."""

import csv
import io
import json

import pytest

from registry.models import AuditEvent
from tests import builders

URL = "/audit/export/"


@pytest.fixture
def two_centres(coordinator_a, coordinator_b):
    return builders.register_patient(coordinator_a), builders.register_patient(coordinator_b)


def body(response) -> str:
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(body(response))))


def test_data_manager_gets_every_centre_as_csv(client, data_manager, two_centres):
    client.force_login(data_manager)
    response = client.get(URL)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = csv_rows(response)
    assert {r["patient"] for r in rows} == {p.study_id for p in two_centres}
    assert {r["action"] for r in rows} == {"register"}
    assert all(r["detail"] == "" for r in rows)  # no free-form detail for a monitor


def test_coordinator_gets_their_centre_only(client, coordinator_a, two_centres):
    client.force_login(coordinator_a)
    rows = csv_rows(client.get(URL))
    assert [r["patient"] for r in rows] == [two_centres[0].study_id]


def test_another_centres_patient_filter_gives_nothing(client, coordinator_a, two_centres):
    client.force_login(coordinator_a)
    rows = csv_rows(client.get(URL, {"patient": two_centres[1].study_id}))
    assert rows == []


def test_json_with_filters_on_user_action_and_time(client, admin_user, two_centres):
    client.force_login(admin_user)
    response = client.get(URL, {"format": "json", "user": "bob", "action": "register"})
    assert response["Content-Type"] == "application/json"
    events = json.loads(body(response))
    assert [(e["user"], e["patient"]) for e in events] == [("bob", two_centres[1].study_id)]
    assert json.loads(body(client.get(URL, {"format": "json", "to": "2000-01-01"}))) == []
    day = AuditEvent.objects.first().at.date().isoformat()
    events = json.loads(body(client.get(URL, {"format": "json", "from": day})))
    # The two earlier exports, and this one: an export's own record is in what it returns.
    assert [e["action"] for e in events] == ["register", "register"] + ["audit_export"] * 3


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"action": "rewrite"}, "action: one of"),
        ({"from": "yesterday"}, "from: a date"),
        ({"format": "xml"}, "format: csv or json"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(client, data_manager, params, message):
    client.force_login(data_manager)
    response = client.get(URL, params)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.AUDIT_EXPORT).exists()


def test_each_export_is_an_audit_event_with_its_filters(client, data_manager, two_centres):
    client.force_login(data_manager)
    body(client.get(URL, {"format": "json", "patient": two_centres[0].study_id}))
    event = AuditEvent.objects.get(action=AuditEvent.Action.AUDIT_EXPORT)
    assert (event.user, event.patient) == (data_manager, None)
    assert event.detail == {"filters": {"format": "json", "patient": two_centres[0].study_id}}


def test_site_staff_do_not_see_who_exported_the_trail(
    client, data_manager, coordinator_a, two_centres
):
    client.force_login(data_manager)
    body(client.get(URL))
    client.force_login(coordinator_a)
    assert {r["action"] for r in csv_rows(client.get(URL))} == {"register"}


@pytest.mark.parametrize("role", ["coordinator_a", "data_manager", "admin_user"])
def test_the_audit_trail_page_leads_to_the_export(client, request, role):
    client.force_login(request.getfixturevalue(role))
    page = client.get("/audit/").content.decode()
    assert 'action="/audit/export/"' in page
    assert 'href="/audit/"' in page  # the header's link
    assert '<option value="audit_export">Audit trail exported</option>' in page
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.AUDIT_EXPORT).exists()


def test_anonymous_users_are_sent_to_sign_in(client):
    assert client.get(URL)["Location"].startswith("/login/")
    assert client.get("/audit/")["Location"].startswith("/login/")
