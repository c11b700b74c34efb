"""The OpenAPI document (GET /api/openapi.json): valid, complete, and true to the app.

Schemathesis reads the document from the in-process app and fuzzes every operation, then
walks the document's links (create a conversation, send a message, re-roll, vote, cancel).
Every answer must be a documented status with a documented body, never a 5xx. No worker
runs: queued generations wait in Redis, and the seeded turns are finished in the database.
"""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from app.extensions import db
from app.models import DONE, Response
from app.streaming.lifecycle import finish_response
from app.web import openapi

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# Bounded and reproducible: the same cases on every run.
HYPOTHESIS = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
FUZZ_CONFIG = {
    "seed": 20261126,
    "generation": {"mode": "all", "deterministic": True},
}
# Routes that are not HTTP JSON operations: the page, its static files, the websocket.
NOT_IN_DOCUMENT = {"/", "/static/<path:filename>", "/ws/turns/<tid>", "/signin/<token>"}
NOT_IN_DOCUMENT |= {"/admin", "/admin/raters", "/admin/campaigns", "/admin/export"}  # pages
# Browser redirects of the OpenID Connect sign-in, not JSON calls (docs/api.md has them).
NOT_IN_DOCUMENT |= {"/auth/login", "/auth/callback"}


@pytest.fixture(autouse=True)
def _close_connections(app):
    """Close the app's pooled connections after the test: PostgreSQL's would otherwise be
    closed by the garbage collector, with a ResourceWarning, in the middle of a later test."""
    yield
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def with_document(app):
    """`app` serving the document (a no-op once create_app registers the blueprint)."""
    if "openapi" not in app.blueprints:
        app.register_blueprint(openapi.bp)
    return app


def load_schema(app):
    """The document as schemathesis reads it from the running app."""
    config = SchemathesisConfig.from_dict(FUZZ_CONFIG)
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)


def finish_turn(app, tid: str) -> None:
    """Play the worker: every response of the turn ends `done`."""
    with app.app_context():
        for response in db.session.scalars(select(Response).where(Response.turn_id == tid)):
            finish_response(response, DONE, content="Hi.", seq=1, finish_reason="stop")
        db.session.commit()


@pytest.fixture
def seeded(app, client) -> dict[str, list[str]]:
    """Ids the fuzzer may use, owned by `client`: a conversation with a finished single turn
    (re-rollable), a finished pair (ratable) and a streaming turn (cancellable)."""
    with_document(app)
    cid = client.post("/api/conversations", json={"system_prompt": "Be brief."}).get_json()["id"]
    tids = []
    for mode in ("single", "pair", "single"):
        response = client.post(
            f"/api/conversations/{cid}/turns", json={"content": mode, "mode": mode}
        )
        assert response.status_code == 202, response.get_data(as_text=True)
        tids.append(response.get_json()["id"])
    finish_turn(app, tids[0])
    finish_turn(app, tids[1])
    return {"cid": [cid], "tid": tids}


@pytest.fixture
def api_schema(app, seeded):
    return load_schema(app)


schema = schemathesis.pytest.from_fixture("api_schema")


# --------------------------------------------------------------------------- the document


def test_document_is_valid_openapi(app, client):
    with_document(app)
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    schemathesis.openapi.from_dict(document).validate()  # against the OpenAPI 3.0 meta-schema


def test_document_lists_every_route(app):
    """Each HTTP route of the app, with each of its methods, is an operation (and no more)."""
    with_document(app)
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule in NOT_IN_DOCUMENT:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        routes |= {(path, m.lower()) for m in rule.methods - {"HEAD", "OPTIONS"}}
    paths = openapi.build_document(app.config)["paths"]
    documented = {(p, m) for p, item in paths.items() for m in item if m != "parameters"}
    assert documented == routes


@pytest.mark.settings(MAX_MESSAGE_CHARS=123, MAX_SYSTEM_PROMPT_CHARS=45, MAX_REASON_CHARS=67)
def test_document_states_the_configured_limits(app, client):
    with_document(app)
    schemas = client.get("/api/openapi.json").get_json()["components"]["schemas"]
    assert schemas["NewTurn"]["properties"]["content"]["maxLength"] == 123
    assert schemas["NewConversation"]["properties"]["system_prompt"]["maxLength"] == 45
    assert schemas["NewFeedback"]["properties"]["reason"]["maxLength"] == 67


def test_websocket_is_described_not_an_operation(app, client):
    with_document(app)
    document = client.get("/api/openapi.json").get_json()
    assert "/ws/turns/{tid}" in document["info"]["description"]
    assert not any(path.startswith("/ws/") for path in document["paths"])


# --------------------------------------------------------------------------- what fuzzing missed

UNSTORABLE = {"NUL": "a\x00b", "unpaired surrogate": "a\ud800b"}


def error_code(response, status: int) -> str:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()["error"]["code"]


@pytest.mark.parametrize("text", UNSTORABLE.values(), ids=UNSTORABLE.keys())
def test_unstorable_text_is_invalid_not_a_server_error(client, seeded, text):
    """Text no database can store (PostgreSQL refuses NUL; an unpaired surrogate, which a JSON
    \\u escape can spell, has no UTF-8) is a 422 naming the field, on SQLite and PostgreSQL."""
    cid, paired = seeded["cid"][0], seeded["tid"][1]
    answers = {
        "system_prompt": client.post("/api/conversations", json={"system_prompt": text}),
        "content": client.post(f"/api/conversations/{cid}/turns", json={"content": text}),
        "reason": client.post(
            f"/api/turns/{paired}/feedback", json={"choice": "a", "reason": text}
        ),
    }
    for field, response in answers.items():
        assert error_code(response, 422) == f"invalid_{field}"
    rated = client.post(f"/api/turns/{paired}/feedback", json={"choice": "a"})  # nothing stored
    assert rated.status_code == 201, rated.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        "/api/conversations/a%00b",
        "/api/conversations/a%00b/turns",
        "/api/turns/a%00b/reroll",
        "/api/turns/a%00b/feedback",
        "/api/turns/a%00b/cancel",
    ],
)
def test_an_id_with_nul_is_unknown(client, path):
    method = client.get if path.count("/") == 3 else client.post
    assert error_code(method(path, json={"content": "x", "choice": "a"}), 404) == "not_found"


# --------------------------------------------------------------------------- fuzzing


@settings(HYPOTHESIS)
@schema.parametrize()
@schema.given(pick=st.integers(min_value=0, max_value=5))
def test_every_operation_answers_as_documented(case, pick, client, seeded):
    """Random and boundary input, valid and invalid: a documented answer, never a 5xx.

    Some cases address the seeded conversation (`pick` 0) or turns (`pick` 0-2), so they
    reach past the lookup; the rest keep the generated id, which is unknown (404).
    """
    for name in ("cid", "tid"):
        if case.path_parameters and name in case.path_parameters and pick < len(seeded[name]):
            case.path_parameters[name] = seeded[name][pick]
    case.call_and_validate(session=client, checks=CHECKS)


def test_linked_workflows_answer_as_documented(app, client):
    """Follow the document's links: conversation -> turn -> re-roll, feedback, cancel."""
    with_document(app)
    machine = load_schema(app).as_state_machine()

    class Workflow(machine):
        def get_call_kwargs(self, case):
            return {"session": client}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(
        settings=settings(
            max_examples=10,
            stateful_step_count=5,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )
