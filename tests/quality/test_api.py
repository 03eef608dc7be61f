"""Queries over the API: raise, list and filter, read, answer (with a correction), close,
re-open; who may do each step, centre scoping (404), and the registry's lock and version
rules for a correction (409, 412)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from quality import services
from quality.models import Query
from registry import services as registry_services
from registry.models import Baseline
from registry.services import SIGNATURE_MEANING
from tests.api_support import assert_error, token_client
from tests.builders import build_casebook, lock_casebook
from tests.factories import TEST_PASSWORD

QUERIES = reverse("api:query-list")
QUESTION = "Weight 65 kg: please check against the chart."
OMIT = object()  # a key left out of a request body


def detail(query) -> str:
    return reverse("api:query-detail", args=[query.pk])


def step(query, name: str) -> str:
    return reverse(f"api:query-{name}", args=[query.pk])


def raise_on_weight(data_manager, patient) -> Query:
    return services.query_raise(
        user=data_manager, patient=patient, section="baseline", field="weight_kg", text=QUESTION
    )


def baseline_version(patient) -> int:
    return Baseline.objects.get(patient=patient).version


def review_roles(success: int) -> list[tuple[str, int, str | None]]:
    """Raise, close and re-open: data managers only; another centre's staff see nothing (404)."""
    return [
        ("api_dm", success, None),
        ("api_a", 403, "forbidden"),
        ("api_investigator", 403, "forbidden"),
        ("api_pi", 403, "forbidden"),
        ("api_admin", 403, "forbidden"),
        ("api_b", 404, "not_found"),
    ]


def outcome(response, status: int, code: str | None) -> dict | None:
    """The query a successful step answers with; None for a refusal (status and code checked)."""
    if code is None:
        assert response.status_code == status, response.content
        return response.json()
    assert_error(response, status, code)
    return None


@pytest.fixture
def api_investigator_b(investigator_b):
    return token_client(investigator_b)


@pytest.fixture
def query(data_manager, casebook) -> Query:
    """An open query on the weight of centre AAA's casebook."""
    return raise_on_weight(data_manager, casebook)


@pytest.fixture
def foreign_query(data_manager, coordinator_b) -> Query:
    """An open query on a casebook of centre BBB."""
    return raise_on_weight(data_manager, build_casebook(coordinator_b))


# -- raise ----------------------------------------------------------------------------------


def test_data_manager_raises_a_query_on_a_field(api_dm, casebook):
    response = api_dm.post(
        QUERIES,
        {
            "patient": casebook.study_id,
            "section": "baseline",
            "field": "weight_kg",
            "text": QUESTION,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    query = Query.objects.get()
    assert response["Location"] == detail(query)
    body = response.json()
    raised_at = body.pop("raised_at")
    assert body["messages"][0].pop("at") == raised_at
    assert body == {
        "id": query.pk,
        "patient": casebook.study_id,
        "center": "AAA",
        "section": "baseline",
        "record": None,
        "field": "weight_kg",
        "where": "baseline weight_kg",
        "value_at_raise": "65.0",
        "status": "open",
        "origin": "manual",
        "rule_code": "",
        "raised_by": "dora",
        "answered_at": None,
        "closed_at": None,
        "closed_by": None,
        "messages": [{"kind": "raise", "author": "dora", "text": QUESTION, "correction": None}],
    }


def test_a_query_on_a_record_of_a_repeating_part_names_the_record(api_dm, casebook):
    ae = casebook.adverse_events.get()
    body = {
        "patient": casebook.study_id,
        "section": "adverse_events",
        "record": ae.pk,
        "field": "grade",
        "text": "Grade 1 cough, or 2?",
    }
    response = api_dm.post(QUERIES, body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert (created["record"], created["where"], created["value_at_raise"]) == (
        ae.pk,
        f"adverse_events #{ae.pk} grade",
        "1",
    )


def test_a_query_on_the_whole_casebook_names_only_the_patient(api_dm, casebook):
    response = api_dm.post(
        QUERIES, {"patient": casebook.study_id, "text": "Signed consent form?"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert (response.json()["section"], response.json()["where"]) == ("", "casebook")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"section": "first-line"}, "section"),  # the URL slug is not a section value
        ({"field": "colour"}, "field"),
        ({"record": "7"}, "record"),
        ({"text": "Weight\x00?"}, "text"),  # PostgreSQL text cannot hold U+0000
        ({"text": "   "}, "text"),
        ({"text": None}, "text"),
        ({"section": "adverse_events", "field": "grade"}, "record"),
        ({"section": OMIT}, "section"),  # a field, but of which part?
    ],
)
def test_bad_input_to_raise_is_400_naming_the_field(api_dm, casebook, change, field):
    body = {"patient": casebook.study_id, "section": "baseline", "field": "weight_kg"}
    body = {**body, "text": QUESTION, **change}
    body = {key: value for key, value in body.items() if value is not OMIT}
    assert_error(api_dm.post(QUERIES, body, format="json"), 400, "invalid", field)
    assert not Query.objects.exists()


def test_raise_without_a_patient_is_400_naming_it(api_dm):
    assert_error(api_dm.post(QUERIES, {"text": QUESTION}, format="json"), 400, "invalid", "patient")


@pytest.mark.parametrize("study_id", ["AAA-9999", "not a study id"])
def test_raise_on_an_unknown_patient_is_404(api_dm, casebook, study_id):
    response = api_dm.post(QUERIES, {"patient": study_id, "text": QUESTION}, format="json")
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(("client", "status", "code"), review_roles(201))
def test_who_may_raise_a_query(request, casebook, client, status, code):
    body = {"patient": casebook.study_id, "text": QUESTION}
    outcome(request.getfixturevalue(client).post(QUERIES, body, format="json"), status, code)
    assert Query.objects.count() == (1 if status == 201 else 0)


def test_raise_with_an_idempotency_key_replays_instead_of_raising_twice(api_dm, casebook):
    body = {"patient": casebook.study_id, "text": QUESTION}
    first = api_dm.post(QUERIES, body, format="json", HTTP_IDEMPOTENCY_KEY="q-1")
    again = api_dm.post(QUERIES, body, format="json", HTTP_IDEMPOTENCY_KEY="q-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again["Location"] == first["Location"]
    assert again["Idempotent-Replayed"] == "true"
    assert Query.objects.count() == 1


def test_the_same_idempotency_key_with_another_body_is_422(api_dm, casebook):
    body = {"patient": casebook.study_id, "text": QUESTION}
    api_dm.post(QUERIES, body, format="json", HTTP_IDEMPOTENCY_KEY="q-1")
    response = api_dm.post(
        QUERIES, {**body, "text": "Another question."}, format="json", HTTP_IDEMPOTENCY_KEY="q-1"
    )
    assert_error(response, 422, "idempotency_key_reused")
    assert Query.objects.count() == 1


# -- list -----------------------------------------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_list_pages_with_a_cursor_newest_first(api_a, data_manager, casebook):
    created = [raise_on_weight(data_manager, casebook).pk for _ in range(5)]
    first = api_a.get(f"{QUERIES}?page_size=2").json()
    second = api_a.get(first["next"]).json()
    third = api_a.get(second["next"]).json()
    pages = [[row["id"] for row in page["results"]] for page in (first, second, third)]
    assert pages == [[created[4], created[3]], [created[2], created[1]], [created[0]]]
    assert third["next"] is None


def test_site_staff_list_their_own_centres_queries_only(api_a, api_b, query, foreign_query):
    assert ids(api_a.get(QUERIES)) == [query.pk]
    assert ids(api_b.get(QUERIES)) == [foreign_query.pk]


@pytest.mark.parametrize("client", ["api_dm", "api_pi", "api_admin"])
def test_study_wide_roles_list_every_centre(request, client, query, foreign_query):
    assert ids(request.getfixturevalue(client).get(QUERIES)) == [foreign_query.pk, query.pk]


def test_list_filters_by_patient_status_and_centre(
    api_dm, data_manager, coordinator_a, casebook, query, foreign_query
):
    other = raise_on_weight(data_manager, build_casebook(coordinator_a))
    services.query_answer(user=coordinator_a, query_id=other.pk, text="Correct as is.")
    assert ids(api_dm.get(f"{QUERIES}?patient={casebook.study_id}")) == [query.pk]
    assert ids(api_dm.get(f"{QUERIES}?status=answered")) == [other.pk]
    assert ids(api_dm.get(f"{QUERIES}?status=open")) == [foreign_query.pk, query.pk]
    assert ids(api_dm.get(f"{QUERIES}?center=AAA")) == [other.pk, query.pk]
    assert ids(api_dm.get(f"{QUERIES}?center=BBB&status=open")) == [foreign_query.pk]


def test_list_filter_on_another_centre_finds_nothing(api_b, query):
    assert ids(api_b.get(f"{QUERIES}?center=AAA")) == []


@pytest.mark.parametrize(
    ("query_string", "field"),
    [("status=pending", "status"), ("centre=AAA", "centre"), ("page_size=0", "page_size")],
)
def test_list_bad_query_parameter_is_400_naming_it(api_dm, query_string, field):
    assert_error(api_dm.get(f"{QUERIES}?{query_string}"), 400, "invalid", field)


@pytest.mark.parametrize("query_string", ["patient=AAA-0001%00", "center=AA%00A"])
def test_a_nul_character_in_a_filter_is_400_not_a_database_error(api_dm, query_string):
    # PostgreSQL cannot compare text with U+0000: the filter's form refuses it first.
    field = query_string.split("=")[0]
    assert_error(api_dm.get(f"{QUERIES}?{query_string}"), 400, "invalid", field)


@pytest.mark.parametrize("count", [3, 30])
def test_list_queries_do_not_grow_with_the_page(
    count, api_dm, data_manager, casebook, django_assert_max_num_queries
):
    for _ in range(count):
        raise_on_weight(data_manager, casebook)
    api_dm.get("/api/v1/me/")  # first use of the token writes last_used_at once
    # Token lookup, the page (patient, centre and users joined), the threads with authors.
    with django_assert_max_num_queries(3):
        response = api_dm.get(f"{QUERIES}?page_size=50")
    assert len(response.json()["results"]) == count


# -- read -----------------------------------------------------------------------------------


@pytest.mark.parametrize("client", ["api_a", "api_investigator", "api_dm", "api_pi", "api_admin"])
def test_read_a_query_with_its_thread(request, client, query):
    response = request.getfixturevalue(client).get(detail(query))
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["status"], body["where"]) == (query.pk, "open", "baseline weight_kg")
    assert [m["kind"] for m in body["messages"]] == ["raise"]


def test_an_unknown_query_is_404(api_dm):
    assert_error(api_dm.get("/api/v1/queries/999999/"), 404, "not_found")


ENDPOINTS = [
    ("get", "detail", None),
    ("post", "messages", {"text": "Not ours."}),
    ("post", "close", {"text": "Not ours."}),
    ("post", "reopen", {"text": "Not ours."}),
]


@pytest.mark.parametrize(("method", "name", "body"), ENDPOINTS)
@pytest.mark.parametrize("client", ["api_b", "api_investigator_b"])
def test_another_centres_query_is_404_on_every_endpoint(request, client, method, name, body, query):
    api = request.getfixturevalue(client)
    url = detail(query) if name == "detail" else step(query, name)
    response = getattr(api, method)(url, body, format="json")
    assert_error(response, 404, "not_found")
    assert ids(api.get(QUERIES)) == []
    assert Query.objects.get(pk=query.pk).messages.count() == 1


def test_another_centres_query_is_404_before_its_body_is_read(api_b, query):
    response = api_b.post(step(query, "messages"), {"text": 5}, format="json")
    assert_error(response, 404, "not_found")


# -- answer ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client", "status", "code"),
    [
        ("api_a", 201, None),
        ("api_investigator", 201, None),
        ("api_b", 404, "not_found"),
        ("api_dm", 403, "forbidden"),
        ("api_pi", 403, "forbidden"),
        ("api_admin", 403, "forbidden"),
    ],
)
def test_who_may_answer_a_query(request, client, status, code, query):
    response = request.getfixturevalue(client).post(
        step(query, "messages"), {"text": "Chart says 65 kg."}, format="json"
    )
    body = outcome(response, status, code)
    if body is not None:
        assert body["status"] == "answered"
        assert body["answered_at"] is not None
        assert [(m["kind"], m["text"]) for m in body["messages"]] == [
            ("raise", QUESTION),
            ("answer", "Chart says 65 kg."),
        ]
    query.refresh_from_db()
    assert query.status == ("answered" if status == 201 else "open")


def test_site_answers_with_a_correction_of_the_field(api_a, query, casebook):
    response = api_a.post(
        step(query, "messages"),
        {
            "text": "Typed 65 for 56.",
            "correction": {"value": 56, "version": baseline_version(casebook)},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    answer = response.json()["messages"][-1]
    assert (answer["kind"], answer["author"], answer["text"]) == (
        "answer",
        "alice",
        "Typed 65 for 56.",
    )
    assert answer["correction"] == {
        "field": "weight_kg",
        "old": "65.0",
        "new": "56.0",
        "version": 2,
    }
    assert Baseline.objects.get(patient=casebook).weight_kg == 56


def test_a_correction_alone_is_an_answer(api_a, query, casebook):
    body = {"correction": {"value": 56, "version": baseline_version(casebook)}}
    response = api_a.post(step(query, "messages"), body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["messages"][-1]["text"] == ""


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": "   "}, "text"),
        ({"text": 5}, "text"),
        ({"correction": {"value": "56", "version": 1}}, "correction.value"),  # not a number
        ({"correction": {"value": None, "version": 1}}, "correction.value"),  # required field
        ({"correction": {"value": 56}}, "correction.version"),
        ({"correction": {"value": 56, "version": "1"}}, "correction.version"),
        ({"correction": 56}, "correction.__all__"),
        ({"correction": {"value": 900, "version": 1}}, "correction.value"),  # the field's range
    ],
)
def test_bad_answer_is_400_naming_the_field_and_changes_nothing(
    api_a, query, casebook, body, field
):
    assert_error(api_a.post(step(query, "messages"), body, format="json"), 400, "invalid", field)
    query.refresh_from_db()
    assert (query.status, query.messages.count()) == ("open", 1)
    assert Baseline.objects.get(patient=casebook).weight_kg == 65


def test_a_correction_breaking_a_casebook_rule_is_400_naming_the_crf_field(
    api_a, data_manager, casebook
):
    query = services.query_raise(
        user=data_manager, patient=casebook, section="baseline", field="diagnosis_date", text="?"
    )
    body = {"correction": {"value": "2023-01-10", "version": baseline_version(casebook)}}
    error = assert_error(
        api_a.post(step(query, "messages"), body, format="json"), 400, "invalid", "diagnosis_date"
    )
    assert "registration date" in error["message"]
    assert Query.objects.get(pk=query.pk).status == "open"


def test_a_correction_of_a_query_on_a_whole_part_is_400(api_a, data_manager, casebook):
    query = services.query_raise(
        user=data_manager, patient=casebook, section="adverse_events", text="Any other AE?"
    )
    body = {"correction": {"value": 2, "version": 1}}
    assert_error(
        api_a.post(step(query, "messages"), body, format="json"), 400, "invalid", "correction"
    )


def test_a_correction_with_a_stale_version_is_412(api_a, coordinator_a, query, casebook):
    read = baseline_version(casebook)
    baseline = Baseline.objects.get(patient=casebook)
    registry_services.crf_record_save(
        user=coordinator_a,
        patient=casebook,
        section="baseline",
        data={"ecog": 2},
        record_id=baseline.pk,
        expected_version=read,
        reason="ECOG rechecked.",
    )
    body = {"text": "Typed 65 for 56.", "correction": {"value": 56, "version": read}}
    assert_error(api_a.post(step(query, "messages"), body, format="json"), 412, "stale")
    query.refresh_from_db()
    assert query.status == "open"
    assert Baseline.objects.get(patient=casebook).weight_kg == 65


def test_a_correction_of_a_locked_casebook_is_409_but_a_plain_answer_is_not(
    api_a, data_manager, investigator_a, query, casebook
):
    services.query_close(user=data_manager, query_id=query.pk)
    lock_casebook(casebook, investigator_a, TEST_PASSWORD)
    services.query_reopen(user=data_manager, query_id=query.pk, text="Source says 56 kg.")
    body = {"correction": {"value": 56, "version": baseline_version(casebook)}}
    assert_error(api_a.post(step(query, "messages"), body, format="json"), 409, "locked")
    assert Baseline.objects.get(patient=casebook).weight_kg == 65
    response = api_a.post(
        step(query, "messages"), {"text": "Will correct after unlock."}, format="json"
    )
    assert (response.status_code, response.json()["status"]) == (201, "answered")


def test_an_answered_query_cannot_be_answered_again(api_a, query):
    api_a.post(step(query, "messages"), {"text": "Correct as is."}, format="json")
    response = api_a.post(step(query, "messages"), {"text": "Again."}, format="json")
    error = assert_error(response, 400, "invalid")
    assert "only an open query can be answered" in error["message"]


# -- close and re-open ----------------------------------------------------------------------


@pytest.fixture
def answered(coordinator_a, query) -> Query:
    services.query_answer(user=coordinator_a, query_id=query.pk, text="Chart says 65 kg.")
    return query


@pytest.mark.parametrize(("client", "status", "code"), review_roles(200))
def test_who_may_close_a_query(request, client, status, code, answered):
    response = request.getfixturevalue(client).post(
        step(answered, "close"), {"text": "Accepted."}, format="json"
    )
    body = outcome(response, status, code)
    if body is not None:
        assert (body["status"], body["closed_by"]) == ("closed", "dora")
        assert body["closed_at"] is not None
        assert body["messages"][-1]["kind"] == "close"
    answered.refresh_from_db()
    assert answered.status == ("closed" if status == 200 else "answered")


def test_close_needs_no_body(api_dm, query):
    response = api_dm.post(step(query, "close"))
    assert (response.status_code, response.json()["status"]) == (200, "closed")
    assert response.json()["messages"][-1]["text"] == ""


def test_a_closed_query_cannot_be_closed_again(api_dm, query):
    api_dm.post(step(query, "close"))
    assert_error(api_dm.post(step(query, "close")), 400, "invalid")


@pytest.mark.parametrize(("client", "status", "code"), review_roles(200))
def test_who_may_reopen_a_query(request, client, status, code, data_manager, answered):
    services.query_close(user=data_manager, query_id=answered.pk)
    response = request.getfixturevalue(client).post(
        step(answered, "reopen"), {"text": "Chart says 56 kg."}, format="json"
    )
    body = outcome(response, status, code)
    if body is not None:
        assert (body["status"], body["closed_at"], body["closed_by"]) == ("open", None, None)
        assert [m["kind"] for m in body["messages"]] == ["raise", "answer", "close", "reopen"]
    answered.refresh_from_db()
    assert answered.status == ("open" if status == 200 else "closed")


@pytest.mark.parametrize("body", [{}, {"text": ""}, {"text": ["why"]}])
def test_reopen_without_a_reason_is_400_naming_text(api_dm, answered, body):
    assert_error(api_dm.post(step(answered, "reopen"), body, format="json"), 400, "invalid", "text")
    answered.refresh_from_db()
    assert answered.status == "answered"


def test_an_open_query_cannot_be_reopened(api_dm, query):
    response = api_dm.post(step(query, "reopen"), {"text": "Again."}, format="json")
    assert_error(response, 400, "invalid")


# -- the lock waits for the queries ---------------------------------------------------------


def test_lock_is_refused_while_queries_are_unresolved_naming_them(
    api_investigator, api_dm, data_manager, answered, casebook
):
    part = services.query_raise(
        user=data_manager, patient=casebook, section="adverse_events", text="Any other AE?"
    )
    lock = f"/api/v1/patients/{casebook.study_id}/lock/"
    body = {"password": TEST_PASSWORD, "meaning": SIGNATURE_MEANING}
    error = assert_error(
        api_investigator.post(lock, body, format="json"), 400, "invalid", "__all__"
    )
    assert error["fields"]["__all__"] == [
        f"query {answered.pk} on Baseline › Weight (kg) is answered",
        f"query {part.pk} on Adverse events is open",
    ]
    assert f"query {answered.pk}" in error["message"]
    for query in (answered, part):
        assert api_dm.post(step(query, "close"), format="json").status_code == 200
    response = api_investigator.post(lock, body, format="json")
    assert (response.status_code, response.json()["locked"]) == (200, True)


# -- authentication -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "name"),
    [
        ("get", "list"),
        ("post", "list"),
        ("get", "detail"),
        ("post", "messages"),
        ("post", "close"),
        ("post", "reopen"),
    ],
)
def test_anonymous_request_is_401(method, name, query):
    url = QUERIES if name == "list" else detail(query) if name == "detail" else step(query, name)
    response = getattr(APIClient(), method)(url, {}, format="json")
    assert_error(response, 401, "not_authenticated")


def test_an_automatic_query_names_the_rule_that_raised_it(api_dm, casebook):
    from quality import checks

    Baseline.objects.filter(patient=casebook).update(weight_kg=200)  # BMI 69: bmi_high
    checks.rules_run([casebook.pk])
    automatic = Query.objects.get(origin=Query.Origin.RULE)
    body = api_dm.get(detail(automatic)).json()
    assert (body["origin"], body["rule_code"], body["raised_by"]) == ("rule", "bmi_high", None)
