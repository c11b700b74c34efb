"""The HTTP API's errors: bad bodies, unknown routes, crashes and an unreachable backend.

In-process (`client`: no worker, so responses stay `streaming` unless a test finishes them
in the database). The contract: /work/shared/design/API.md.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import DONE, STREAMING, Conversation, Response, Turn
from tests.api_helpers import (
    UNKNOWN_ID,
    UNUSED_REDIS,
    app_with,
    assert_error,
    feedback_count,
    get_conversation,
    new_conversation,
    send,
    stored_turns,
)


@pytest.mark.parametrize(
    ("path_kind", "payload"),
    [("create", b"hello"), ("turn", b'{"content": "hi"}'), ("feedback", b'{"choice": "a"}')],
)
def test_a_body_that_is_not_json_is_415(app, client, path_kind, payload):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    path = {
        "create": "/api/conversations",
        "turn": f"/api/conversations/{cid}/turns",
        "feedback": f"/api/turns/{tid}/feedback",
    }[path_kind]
    response = client.post(path, data=payload, content_type="text/plain")
    assert_error(response, 415)
    assert len(stored_turns(app, cid)) == 1
    assert feedback_count(app) == 0


def test_a_form_post_is_415(client):
    response = client.post("/api/conversations", data={"system_prompt": "x"})
    assert_error(response, 415)


MALFORMED = [
    b'{"content": ',
    b"{'content': 'single quotes'}",
    b'{"content": "hi",}',
    b'{"content": "\xff\xfe"}',  # not UTF-8
    b"{" + b'"a":{' * 50_000,
    b"[" * 100_000,  # deeper than the parser can follow
]


def test_malformed_json_is_400(app, client):
    cid = new_conversation(client)
    for payload in MALFORMED:
        response = client.post(
            f"/api/conversations/{cid}/turns", data=payload, content_type="application/json"
        )
        assert_error(response, 400, case=payload[:30])
    assert stored_turns(app, cid) == []


def test_json_that_is_not_an_object_is_400(app, client):
    cid = new_conversation(client)
    for payload in ["[]", '["hi"]', '[{"content": "hi"}]', '"hi"', "42", "null", "true"]:
        response = client.post(
            f"/api/conversations/{cid}/turns", data=payload, content_type="application/json"
        )
        assert_error(response, 400, case=payload)
        create = client.post("/api/conversations", data=payload, content_type="application/json")
        assert_error(create, 400, case=payload)
    assert stored_turns(app, cid) == []
    assert len(client.get("/api/conversations").get_json()["conversations"]) == 1


def test_missing_empty_or_non_string_content_is_422(app, client):
    cid = new_conversation(client)
    bodies = [
        {},
        {"mode": "single"},
        {"content": ""},
        {"content": "   \n\t "},
        {"content": None},
        {"content": 42},
        {"content": ["hi"]},
        {"content": {"text": "hi"}},
        {"content": True},
    ]
    for body in bodies:
        response = client.post(f"/api/conversations/{cid}/turns", json=body)
        error = assert_error(response, 422, case=body)
        assert "content" in error["message"], body
    assert stored_turns(app, cid) == []


def test_an_empty_turn_body_is_422_not_a_crash(app, client):
    cid = new_conversation(client)
    assert_error(client.post(f"/api/conversations/{cid}/turns"), 422)
    assert stored_turns(app, cid) == []


def test_an_invalid_mode_is_422(app, client, queued):
    cid = new_conversation(client)
    for mode in ["both", "", "PAIR", "Single", 1, True, ["pair"], {"pair": 1}, None]:
        body = {"content": "hi", "mode": mode}
        response = client.post(f"/api/conversations/{cid}/turns", json=body)
        error = assert_error(response, 422, case=mode)
        assert "mode" in error["message"], mode
    assert stored_turns(app, cid) == []
    assert queued == []


def test_content_longer_than_the_limit_is_413_and_nothing_is_stored(app, client, queued):
    limit = app.config["MAX_MESSAGE_CHARS"]
    cid = new_conversation(client)
    error = assert_error(
        client.post(f"/api/conversations/{cid}/turns", json={"content": "é" * (limit + 1)}), 413
    )
    assert f"{limit:,}" in error["message"]
    conversation = get_conversation(client, cid)
    assert conversation["turns"] == []
    assert conversation["title"] == "New conversation"
    assert stored_turns(app, cid) == []
    assert queued == []
    # exactly at the limit is fine
    send(client, cid, "é" * limit)
    assert len(stored_turns(app, cid)) == 1


def test_a_system_prompt_longer_than_the_limit_is_413_and_nothing_is_stored(app, client):
    limit = app.config["MAX_SYSTEM_PROMPT_CHARS"]
    response = client.post("/api/conversations", json={"system_prompt": "s" * (limit + 1)})
    assert_error(response, 413)
    assert client.get("/api/conversations").get_json() == {"conversations": []}
    with app.app_context():
        assert db.session.scalars(select(Conversation)).all() == []


def test_a_non_string_system_prompt_is_422(client):
    assert_error(client.post("/api/conversations", json={"system_prompt": 5}), 422)
    assert client.get("/api/conversations").get_json() == {"conversations": []}


def test_a_body_larger_than_max_content_length_is_413_json(app, client, queued):
    cid = new_conversation(client)
    limit = app.config["MAX_CONTENT_LENGTH"]
    payload = json.dumps({"content": "x" * (limit + 10)})
    response = client.post(
        f"/api/conversations/{cid}/turns", data=payload, content_type="application/json"
    )
    error = assert_error(response, 413)
    assert f"{limit:,}" in error["message"]
    assert stored_turns(app, cid) == []
    assert queued == []
    big_create = client.post(
        "/api/conversations",
        data=json.dumps({"system_prompt": "x" * (limit + 10)}),
        content_type="application/json",
    )
    assert_error(big_create, 413)
    assert [c["id"] for c in client.get("/api/conversations").get_json()["conversations"]] == [cid]


def test_an_unknown_api_path_is_404_json(client):
    for method, path in [
        ("GET", "/api/nope"),
        ("POST", "/api/nope"),
        ("GET", "/api/turns"),
        ("GET", "/api/conversations/x/turns/y/z"),
        ("DELETE", "/api/turns/abc/nothing"),
    ]:
        assert_error(client.open(path, method=method), 404, "not_found", case=(method, path))


def test_a_wrong_method_is_405_json_with_allow(client):
    for method, path, allowed in [
        ("DELETE", "/api/conversations", {"GET", "POST"}),
        ("PUT", "/api/conversations", {"GET", "POST"}),
        ("PUT", f"/api/conversations/{UNKNOWN_ID}", {"GET", "PATCH", "DELETE"}),
        ("GET", f"/api/conversations/{UNKNOWN_ID}/turns", {"POST"}),
        ("GET", f"/api/turns/{UNKNOWN_ID}/feedback", {"POST"}),
        ("GET", f"/api/turns/{UNKNOWN_ID}/reroll", {"POST"}),
        ("PATCH", f"/api/turns/{UNKNOWN_ID}/cancel", {"POST"}),
    ]:
        response = client.open(path, method=method)
        assert_error(response, 405, "method_not_allowed", case=(method, path))
        allow = {m.strip() for m in response.headers.get("Allow", "").split(",")}
        assert allowed <= allow, (method, path, allow)


def test_an_unexpected_exception_is_500_json_without_traceback(app, client, monkeypatch):
    import app.web.api.conversations as routes

    secret = "kaboom /work/main/app/secret_internal.py password=hunter2"

    def explode(*args, **kwargs):
        raise RuntimeError(secret)

    cid = new_conversation(client)
    monkeypatch.setattr(routes, "conversation_detail", explode)
    monkeypatch.setattr(routes, "start_turn", explode)
    for response in (
        client.get(f"/api/conversations/{cid}"),
        client.post(f"/api/conversations/{cid}/turns", json={"content": "hi"}),
    ):
        error = assert_error(response, 500, "internal_error")
        text = response.get_data(as_text=True)
        assert "kaboom" not in text and "hunter2" not in text and "secret_internal" not in text
        assert error["message"]


def test_redis_unreachable_is_503_unavailable_and_leaves_no_waiting_slot(app):
    down = app_with(app, REDIS_URL=UNUSED_REDIS)
    browser = down.test_client()
    cid = new_conversation(browser)  # the database alone is enough for this

    response = browser.post(f"/api/conversations/{cid}/turns", json={"content": "hi"})
    assert_error(response, 503, "unavailable")
    conversation = get_conversation(browser, cid)
    assert conversation["turns"] == []  # no slot waits for a generation nobody queued
    assert conversation["title"] == "New conversation"

    with down.app_context():  # turns made while Redis was up: one finished, one streaming
        conversation = db.session.get(Conversation, cid)
        for position in (0, 1):
            turn = Turn(position=position, content="x", trigger="single", context=[])
            turn.responses.append(
                Response(
                    slot="a",
                    endpoint_name="alpha",
                    model="alpha-model",
                    params={"temperature": 0.5},
                    status=DONE if position == 0 else STREAMING,
                    content="done" if position == 0 else "",
                )
            )
            conversation.turns.append(turn)
        db.session.commit()
        finished, streaming = (t.id for t in conversation.turns)

    assert_error(browser.post(f"/api/turns/{streaming}/cancel", json={}), 503, "unavailable")
    assert_error(browser.post(f"/api/turns/{finished}/reroll", json={}), 503, "unavailable")
    with down.app_context():  # (read from the database: Redis is down)
        kept = db.session.get(Turn, finished)
        assert (kept.trigger, [r.slot for r in kept.responses]) == ("single", ["a"])
        assert db.session.get(Turn, streaming).responses[0].status == STREAMING


def test_database_unreachable_is_503_unavailable(app):
    down = app_with(app, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://duet:duet@127.0.0.1:1/duet")
    browser = down.test_client()
    assert_error(browser.get("/api/conversations"), 503, "unavailable")
    assert_error(browser.post("/api/conversations", json={}), 503, "unavailable")
