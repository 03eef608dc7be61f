"""Property-based API testing against the live OpenAPI schema (schemathesis).

The schema is fetched from the running Django application (WSGI, in process, on the test
database: PostgreSQL in CI) and every operation is called with generated valid and invalid
data, alternately as a site coordinator and as an admin (the query operations take turns
among a coordinator, a data manager, who raises, closes and re-opens queries, and an admin).
Checks: no 5xx, and every answer (status, headers, body) conforms to the schema. Path
parameters (and a new query's patient) are steered to real patients, records, exports and
queries most of the time, and well-formed Idempotency-Keys are made unique, so the generated
bodies reach the services instead of stopping at a 404 or a 422.

A second, stateful phase chains the operations (create a patient, then read, change and
delete its records with the ids the answers gave) as a coordinator and as an admin, with the
links schemathesis infers from the schema.
"""

from __future__ import annotations

import itertools

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import load_all_checks
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.stateful import dependencies

from analytics.services import plan_seed_demo
from core.api import tokens as api_services
from core.api.idempotency import HEADER as IDEMPOTENCY_HEADER
from exchange import services as export_services
from publication import services as cut_services
from quality import services as query_services
from tests.builders import build_casebook, lock_casebook, register_patient
from tests.factories import TEST_PASSWORD, CenterFactory, UserFactory

pytestmark = pytest.mark.schemathesis

MAX_EXAMPLES = 12
# The stateful phase: scenarios per role, and calls per scenario.
STATEFUL_SCENARIOS = 12
STATEFUL_STEPS = 8
STATEFUL_CALLS: list[str] = []
CALLS: list[int] = []


@pytest.fixture
def api_schema(db, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    settings.API_THROTTLE_RATES = {"user": "none", "login": "none", "token_create": "none"}
    # Django closes connections at the end of a WSGI request; in a test that would drop the
    # test transaction. The test client disconnects the same signals for the same reason.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    center_a = CenterFactory(code="AAA", name="Alpha Hospital")
    center_b = CenterFactory(code="BBB", name="Beta Hospital")
    coordinator = UserFactory(username="st-coord", role="coordinator", center=center_a)
    other = UserFactory(username="st-coord-b", role="coordinator", center=center_b)
    admin = UserFactory(username="st-admin", role="admin", center=None, is_superuser=True)
    data_manager = UserFactory(username="st-dm", role="data_manager", center=None)
    own = [build_casebook(coordinator) for _ in range(2)] + [register_patient(coordinator)]
    foreign = build_casebook(other)
    # A current analysis plan, so the analysis operations get past "no plan yet" (its run
    # stays queued: after-commit hooks do not fire inside the test transaction).
    plan_seed_demo()
    # A locked casebook and a data cut of it, so the cut operations answer with a cut (and
    # its kit) too, and a freeze gets past "nothing locked".
    investigator = UserFactory(username="st-inv", role="investigator", center=center_a)
    lock_casebook(build_casebook(coordinator, complete=True), investigator, TEST_PASSWORD)
    cut = cut_services.cut_freeze(user=admin, name="Schemathesis cut")
    # A finished export per role, so the download operation answers with its ZIP too.
    exports = {
        name: export_services.export_run(
            job_id=export_services.export_request(user=user, locked_only=False, enqueue=False).pk
        )
        for name, user in (("coordinator", coordinator), ("admin", admin))
    }
    # Queries in each state, own centre's and another's, so every step can succeed somewhere.
    queries = _queries(data_manager, coordinator, own, foreign)
    tokens = {
        name: api_services.token_create(user=user, name="schemathesis")[1]
        for name, user in (
            ("coordinator", coordinator),
            ("admin", admin),
            ("data_manager", data_manager),
        )
    }
    app = get_wsgi_application()
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json",
        app,
        headers={"Authorization": f"Bearer {tokens['admin']}"},
    )
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        # Credentials are ours (a token per role); generated cookies would only add noise.
        with_security_parameters=False,
    )
    schema.registry_state = {
        "tokens": tokens,
        "own": own,
        "foreign": foreign,
        "exports": exports,
        "queries": queries,
        "cut": cut,
        "turn": itertools.count(),
        "query_turn": itertools.count(),
        "keys": itertools.count(),
    }
    yield schema
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


def _queries(data_manager, coordinator, own, foreign) -> dict:
    def raise_(patient, **target):
        return query_services.query_raise(user=data_manager, patient=patient, text="?", **target)

    on_field = raise_(own[0], section="baseline", field="weight_kg")
    answered = raise_(own[1], section="adverse_events")
    query_services.query_answer(user=coordinator, query_id=answered.pk, text="None other.")
    closed = raise_(own[2])
    query_services.query_close(user=data_manager, query_id=closed.pk)
    return {"own": [on_field, answered, closed], "foreign": raise_(foreign)}


def _is_id(value) -> bool:
    """A well-typed id: an int, or its digits (the coverage phase's path values are text)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, str) and value.isdigit())


def _negative_path(case) -> bool:
    """Whether schemathesis made the path parameters invalid on purpose (e.g. an id of the
    wrong type, which in a URL may still read "4"): such a case must keep its values, or a
    real id would be answered 200 where the check expects a refusal."""
    meta = getattr(case, "meta", None)
    component = meta.components.get(ParameterLocation.PATH) if meta is not None else None
    return component is not None and component.mode == GenerationMode.NEGATIVE


def _steer(case, state, role: str) -> None:
    """Point most cases at real patients, records and exports; leave some random (→ 404)."""
    turn = next(state["turn"])
    key = (case.headers or {}).get(IDEMPOTENCY_HEADER)
    if isinstance(key, str) and key.strip() and key.isascii() and turn % 4 != 3:
        # Generated keys repeat ("0" again and again), so with a new body nearly every POST
        # was a (correct) 422 before its body was read. A fresh valid key lets it through.
        case.headers[IDEMPOTENCY_HEADER] = f"schemathesis-{next(state['keys'])}"
    params = {} if _negative_path(case) else (case.path_parameters or {})
    if _is_id(params.get("export_id")) and turn % 4 != 3:
        params["export_id"] = state["exports"][role].pk
    if _is_id(params.get("cut_id")) and turn % 4 != 3:
        params["cut_id"] = state["cut"].pk
    # Only well-typed values are replaced: a negative case must stay negative.
    if isinstance(params.get("study_id"), str) and turn % 4 != 3:
        patient = state["own"][turn % 3] if turn % 4 != 2 else state["foreign"]
        params["study_id"] = patient.study_id
        if _is_id(params.get("record_id")) and turn % 2 == 0:
            part = case.operation.path.split("/")[-3]
            related = {
                "assessments": patient.assessments,
                "adverse-events": patient.adverse_events,
                "follow-ups": patient.follow_ups,
            }[part]
            first = related.order_by("pk").first()
            if first is not None:
                params["record_id"] = first.pk


def _steer_query(case, state) -> str:
    """A query operation's role and query: each role meets queries in each state.

    Its own counter, so that the role (turn % 3) and the query (turn // 3 % 3) are not tied
    to each other, nor to the other operations' alternation; some cases keep a random id
    (→ 404) and some get another centre's query or patient.
    """
    turn = next(state["query_turn"])
    role = ("coordinator", "data_manager", "admin")[turn % 3]
    if turn % 5 == 4:
        return role
    foreign = turn % 5 == 3
    params = {} if _negative_path(case) else (case.path_parameters or {})
    if _is_id(params.get("query_id")):
        queries = state["queries"]
        params["query_id"] = (queries["foreign"] if foreign else queries["own"][turn // 3 % 3]).pk
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("patient"), str) and body["patient"]:
        # A new query's patient is in the body: a random study id would always be 404. ("" is
        # a negative case's: it stays.)
        patient = state["foreign"] if foreign else state["own"][turn // 3 % 3]
        body["patient"] = patient.study_id
    return role


def _steer_upload(case) -> None:
    """The import upload is multipart: a negative case whose body is not an object (a list,
    null) cannot be encoded as a form by the WSGI client (it crashes before any request),
    so it is sent as an empty form instead, still missing its required file (→ 400)."""
    upload = case.operation.path == "/api/v1/imports/" and case.method.upper() == "POST"
    if upload and not isinstance(case.body, dict):
        case.body = {}


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case, api_schema):
    load_all_checks()
    state = api_schema.registry_state
    # Alternate the roles case by case: both see every operation, in half the time.
    role = ("coordinator", "admin")[len(CALLS) % 2]
    if case.operation.path.startswith("/api/v1/queries/"):
        role = _steer_query(case, state)
    _steer(case, state, role)
    _steer_upload(case)
    CALLS.append(case.operation.label)
    case.call_and_validate(
        headers={"Authorization": f"Bearer {state['tokens'][role]}"},
        excluded_checks=_excluded_checks(),
    )


def test_schemathesis_run_was_large_enough():
    """Runs after the property test in this module (pytest keeps file order)."""
    if not CALLS:
        pytest.skip("the schemathesis run did not take place in this session")
    print(f"schemathesis: {len(CALLS)} requests over {len(set(CALLS))} operations")
    assert len(CALLS) >= 450


def _excluded_checks():
    from schemathesis.checks import CHECKS

    # A valid-by-schema body may still break a clinical rule (400): not a defect.
    return [CHECKS.get_one("positive_data_acceptance")]


@pytest.mark.parametrize("role", ["coordinator", "admin"])
def test_api_holds_through_chained_calls(api_schema, role):
    """Scenarios of dependent calls: each takes ids from earlier answers (a patient the POST
    created, a record listed or created under it, an export or run just requested), so the
    later operations act on real data that this very run made, as the role would."""
    load_all_checks()
    # Links between operations inferred from the schema (producer answers -> consumer
    # parameters): the schema itself declares none. 45 today; fewer means inference broke.
    assert dependencies.inject_links(api_schema) >= 40
    token = api_schema.registry_state["tokens"][role]
    excluded = _excluded_checks()

    class Scenario(api_schema.as_state_machine()):
        def before_call(self, case):
            _steer_upload(case)

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token}"}}

        def after_call(self, response, case):
            STATEFUL_CALLS.append(case.operation.label)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # The headers say which credentials were ours: the auth checks replay without them.
            case.validate_response(
                response,
                excluded_checks=excluded,
                headers=kwargs.get("headers"),
                transport_kwargs=kwargs,
            )

    before = len(STATEFUL_CALLS)
    Scenario.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
    )
    made = STATEFUL_CALLS[before:]
    print(f"schemathesis stateful ({role}): {len(made)} calls over {len(set(made))} operations")
    # Enough calls, and some of them reached operations only a link can feed well.
    assert len(made) >= STATEFUL_SCENARIOS * 2
    assert any("{record_id}" in label or "{study_id}/" in label for label in made), made
