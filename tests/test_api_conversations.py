"""The HTTP API's conversations: creating, listing and showing them; names hidden until a vote.

In-process (`client`: no worker, so responses stay `streaming` unless a test finishes them
in the database).
"""

from __future__ import annotations

import json

from sqlalchemy import event

from app.extensions import db
from app.models import DONE, STREAMING
from tests.api_helpers import finish, get_conversation, get_turn, new_conversation, send


def test_create_conversation_is_201_with_an_id(client):
    cases = [
        ({"json": {}}, None),
        ({"data": b""}, None),
        ({}, None),
        ({"data": b"", "content_type": "application/json"}, None),
        ({"json": {"system_prompt": "You are terse."}}, "You are terse."),
        ({"json": {"system_prompt": None}}, None),
    ]
    ids = []
    for kwargs, system_prompt in cases:
        response = client.post("/api/conversations", **kwargs)
        assert response.status_code == 201, (kwargs, response.get_data(as_text=True))
        body = response.get_json()
        assert isinstance(body["id"], str) and body["id"], kwargs
        detail = get_conversation(client, body["id"])
        assert (detail["id"], detail["turns"]) == (body["id"], []), kwargs
        assert detail["system_prompt"] == system_prompt, kwargs
        ids.append(body["id"])
    assert len(set(ids)) == len(ids)
    assert all(len(i) >= 32 for i in ids)  # unguessable


def test_a_conversation_is_shown_and_extended_without_reading_the_stored_contexts(
    app, client, queued
):
    """Each turn stores what its model was sent (up to MAX_CONTEXT_CHARS): read back for
    every turn, a long conversation's page and each new message parsed megabytes of JSON."""
    cid = new_conversation(client)
    for text in ("one", "two", "three"):
        send(client, cid, text)
    with app.app_context():
        engine = db.engine
    selects: list[str] = []

    def statement(_conn, _cursor, sql, *_args) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            selects.append(sql)

    event.listen(engine, "before_cursor_execute", statement)
    try:
        shown = get_conversation(client, cid)
        send(client, cid, "four")
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert [t["content"] for t in shown["turns"]] == ["one", "two", "three"]
    assert any("FROM turns" in sql for sql in selects), selects
    assert not any("turns.context" in sql for sql in selects), selects


def test_the_list_shows_only_this_clients_conversations_newest_first(client, other):
    mine = [new_conversation(client) for _ in range(3)]
    theirs = new_conversation(other)
    send(client, mine[1], "Titles come from the first message")

    listed = client.get("/api/conversations")
    assert listed.status_code == 200
    conversations = listed.get_json()["conversations"]
    assert [c["id"] for c in conversations] == mine[::-1]
    for c in conversations:
        assert set(c) >= {"id", "title", "created_at"}
        assert isinstance(c["title"], str) and isinstance(c["created_at"], str)
    assert [c["created_at"] for c in conversations] == sorted(
        (c["created_at"] for c in conversations), reverse=True
    )
    assert conversations[1]["title"] == "Titles come from the first message"
    assert [c["id"] for c in other.get("/api/conversations").get_json()["conversations"]] == [
        theirs
    ]


def test_get_conversation_shows_turns_with_the_contract_fields(app, client):
    cid = new_conversation(client, system_prompt="Be brief.")
    single = send(client, cid, "first message", mode="single")["id"]
    paired = send(client, cid, "second message", mode="pair")["id"]
    detail = get_conversation(client, cid)
    assert detail["id"] == cid
    assert [t["id"] for t in detail["turns"]] == [single, paired]
    for turn in detail["turns"]:
        assert set(turn) >= {"id", "content", "paired", "trigger", "responses", "feedback"}
        assert turn["feedback"] is None
        for r in turn["responses"]:
            assert set(r) >= {"slot", "content", "status", "finish_reason"}
            assert (r["content"], r["status"], r["finish_reason"]) == ("", STREAMING, None)
    first, second = detail["turns"]
    assert (first["content"], first["paired"], first["trigger"]) == (
        "first message",
        False,
        "single",
    )
    assert [r["slot"] for r in first["responses"]] == ["a"]
    assert (second["content"], second["paired"], second["trigger"]) == (
        "second message",
        True,
        "requested",
    )
    assert [r["slot"] for r in second["responses"]] == ["a", "b"]

    finish(app, paired, "a", "answer A")
    finish(app, paired, "b", "answer B")
    a, b = get_turn(client, cid, paired)["responses"]
    assert (a["content"], a["status"], a["finish_reason"]) == ("answer A", DONE, "stop")
    assert (b["content"], b["status"], b["finish_reason"]) == ("answer B", DONE, "stop")


def test_model_names_stay_hidden_until_feedback(app, client, endpoints):
    cid = new_conversation(client)
    tid = send(client, cid, "which one is better?", mode="pair")["id"]
    secret_words = [e["name"] for e in endpoints] + [e["model"] for e in endpoints]
    secret_words += ["endpoint", "temperature", "sk-test-secret"]

    def visible() -> str:
        return client.get(f"/api/conversations/{cid}").get_data(as_text=True) + json.dumps(
            client.get("/api/conversations").get_json()
        )

    assert not [w for w in secret_words if w in visible()]
    finish(app, tid, "a", "one")
    finish(app, tid, "b", "two")
    assert not [w for w in secret_words if w in visible()]  # finished is not rated

    vote = client.post(f"/api/turns/{tid}/feedback", json={"choice": "a"})
    assert vote.status_code == 201
    body = vote.get_json()
    assert body["choice"] == "a"
    revealed = {r["slot"]: (r["endpoint"], r["model"]) for r in body["responses"]}
    assert sorted(revealed.values()) == [("alpha", "alpha-model"), ("beta", "beta-model")]
    shown = {
        r["slot"]: (r["endpoint"], r["model"]) for r in get_turn(client, cid, tid)["responses"]
    }
    assert shown == revealed
    assert "sk-test-secret" not in visible()  # API keys never show
