"""The HTTP API's turns: sending, the context stored for the model, reroll and cancel.

In-process (`client`: no worker, so responses stay `streaming` unless a test finishes them
in the database).
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.chat.ownership import find_turn
from app.extensions import db, redis_client
from app.models import DONE, ERROR, STREAMING, Conversation, Response, Turn
from app.streaming.protocol import buffered_events
from tests.api_helpers import (
    assert_error,
    finish,
    get_conversation,
    get_turn,
    new_conversation,
    send,
    statuses,
)


def test_sending_a_pair_reads_nothing_back_after_its_commit(app, client, queued, record_sql):
    """50 people sending at once is where the web process is busiest: the ids to enqueue and
    the answer come from what the request wrote, not from queries after the commit."""
    cid = new_conversation(client)
    with record_sql() as events:
        answer = client.post(
            f"/api/conversations/{cid}/turns", json={"mode": "pair", "content": "hi"}
        )
    assert answer.status_code == 202
    assert answer.get_json()["slots"] == ["a", "b"]
    assert "INSERT" in events and events[-1] == "COMMIT", events
    with app.app_context():
        stored = db.session.scalars(
            select(Response.id)
            .join(Turn)
            .where(Turn.id == answer.get_json()["id"])
            .order_by(Response.slot)
        ).all()
    assert queued == stored


def test_a_turn_is_read_with_its_owner_and_responses_in_one_query(app, client, queued, record_sql):
    """Each socket opened looks its turn up: one query, the owner checked on what it read."""
    cid = new_conversation(client)
    answer = client.post(f"/api/conversations/{cid}/turns", json={"mode": "pair", "content": "hi"})
    tid = answer.get_json()["id"]
    with app.app_context():
        owner = db.session.get(Conversation, cid).rater_id
        db.session.remove()
        with record_sql() as statements:
            turn = find_turn(tid, owner)
            slots = [r.slot for r in turn.responses]
        assert statements == ["SELECT"]
        assert slots == ["a", "b"]
        db.session.remove()
        assert find_turn(tid, "another-client") is None


@pytest.mark.parametrize(
    ("mode", "rate", "paired", "trigger"),
    [
        ("single", 1.0, False, "single"),
        ("pair", 0.0, True, "requested"),
        ("auto", 1.0, True, "sampled"),
        ("auto", 0.0, False, "single"),
        (None, 1.0, True, "sampled"),
        (None, 0.0, False, "single"),
    ],
)
def test_post_turn_is_202_with_id_paired_and_slots(
    app, client, queued, mode, rate, paired, trigger
):
    app.config["PREFERENCE_SAMPLE_RATE"] = rate
    cid = new_conversation(client)
    body = {"content": "hello"} if mode is None else {"content": "hello", "mode": mode}
    response = client.post(f"/api/conversations/{cid}/turns", json=body)
    assert response.status_code == 202
    started = response.get_json()
    assert set(started) >= {"id", "paired", "slots"}
    assert isinstance(started["id"], str) and started["id"]
    assert started["paired"] is paired
    assert started["slots"] == (["a", "b"] if paired else ["a"])
    turn = get_turn(client, cid, started["id"])
    assert (turn["paired"], turn["trigger"]) == (paired, trigger)
    with app.app_context():
        rows = db.session.scalars(select(Response).where(Response.turn_id == started["id"])).all()
        assert sorted(queued) == sorted(r.id for r in rows)  # one generation per slot
        if paired:
            assert rows[0].endpoint_name != rows[1].endpoint_name


def test_auto_mode_samples_at_the_configured_rate(app, client, queued):
    app.config["PREFERENCE_SAMPLE_RATE"] = 0.5
    cid = new_conversation(client)
    paired = [send(client, cid, f"m{i}", mode="auto")["paired"] for i in range(24)]
    assert True in paired and False in paired  # fails with odds of 2 in 2**24
    triggers = {t["trigger"] for t in get_conversation(client, cid)["turns"]}
    assert triggers == {"sampled", "single"}


def test_the_turn_context_is_system_prompt_earlier_turns_and_the_new_message(app, client):
    cid = new_conversation(client, system_prompt="You are a pirate.")
    first = send(client, cid, "Ahoy?", mode="single")["id"]
    finish(app, first, "a", "Arr, ahoy!")
    second = send(client, cid, "Where is the treasure?", mode="pair")["id"]
    finish(app, second, "a", "Buried.")
    finish(app, second, "b", "On the island.")
    assert client.post(f"/api/turns/{second}/feedback", json={"choice": "b"}).status_code == 201
    third = send(client, cid, "Show me.", mode="pair")["id"]

    with app.app_context():
        contexts = {t.id: t.context for t in db.session.scalars(select(Turn)).all()}
    system = {"role": "system", "content": "You are a pirate."}
    assert contexts[first] == [system, {"role": "user", "content": "Ahoy?"}]
    assert contexts[second] == [
        system,
        {"role": "user", "content": "Ahoy?"},
        {"role": "assistant", "content": "Arr, ahoy!"},
        {"role": "user", "content": "Where is the treasure?"},
    ]
    assert contexts[third] == [
        system,
        {"role": "user", "content": "Ahoy?"},
        {"role": "assistant", "content": "Arr, ahoy!"},
        {"role": "user", "content": "Where is the treasure?"},
        {"role": "assistant", "content": "On the island."},
        {"role": "user", "content": "Show me."},
    ]


def test_the_context_has_no_system_message_without_a_system_prompt(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, "Just me.")["id"]
    with app.app_context():
        assert db.session.get(Turn, tid).context == [{"role": "user", "content": "Just me."}]


@pytest.mark.parametrize("status", [STREAMING, ERROR, "cancelled"])
def test_reroll_of_a_turn_that_is_not_finished_is_409(app, client, queued, status):
    cid = new_conversation(client)
    tid = send(client, cid, mode="single")["id"]
    if status != STREAMING:
        finish(app, tid, "a", "partial", status=status)
    queued.clear()
    error = assert_error(client.post(f"/api/turns/{tid}/reroll", json={}), 409)
    assert error["code"] == "not_finished"
    turn = get_turn(client, cid, tid)
    assert (turn["paired"], turn["trigger"], len(turn["responses"])) == (False, "single", 1)
    assert queued == []


def test_reroll_of_a_paired_turn_is_409(app, client, queued):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "one")
    finish(app, tid, "b", "two")
    queued.clear()
    error = assert_error(client.post(f"/api/turns/{tid}/reroll", json={}), 409)
    assert error["code"] == "already_paired"
    assert get_turn(client, cid, tid)["trigger"] == "requested"
    assert queued == []


def test_reroll_of_a_finished_single_turn_queues_slot_b_once(app, client, queued):
    cid = new_conversation(client)
    tid = send(client, cid, mode="single")["id"]
    finish(app, tid, "a", "the original answer")
    queued.clear()
    response = client.post(f"/api/turns/{tid}/reroll", json={})
    assert response.status_code == 202
    body = response.get_json()
    assert (body["id"], body["paired"], body["slots"]) == (tid, True, ["a", "b"])
    turn = get_turn(client, cid, tid)
    assert turn["trigger"] == "reroll" and turn["paired"] is True
    a, b = turn["responses"]
    assert (a["slot"], a["content"], a["status"]) == ("a", "the original answer", DONE)
    assert (b["slot"], b["content"], b["status"]) == ("b", "", STREAMING)
    with app.app_context():
        b_row = db.session.scalars(
            select(Response).where(Response.turn_id == tid, Response.slot == "b")
        ).one()
        a_row = db.session.scalars(
            select(Response).where(Response.turn_id == tid, Response.slot == "a")
        ).one()
        assert queued == [b_row.id]
        assert (b_row.endpoint_name, b_row.params) != (a_row.endpoint_name, a_row.params)
    assert_error(client.post(f"/api/turns/{tid}/reroll", json={}), 409)


def test_cancel_ends_streaming_slots_and_is_harmless_afterwards(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    response = client.post(f"/api/turns/{tid}/cancel", json={})
    assert response.status_code == 202
    assert sorted(response.get_json()["cancelled"]) == ["a", "b"]
    assert statuses(client, cid, tid) == {"a": "cancelled", "b": "cancelled"}
    with app.app_context():
        for slot in "ab":
            events = [json.loads(e) for e in buffered_events(redis_client.get(), tid, slot)]
            terminals = [e for e in events if e["type"] in ("done", "error", "cancelled")]
            assert terminals == [{"type": "cancelled", "slot": slot}]
            assert events[-1] == terminals[0]
    again = client.post(f"/api/turns/{tid}/cancel", json={})
    assert again.status_code == 202
    assert again.get_json()["cancelled"] == []
    assert_error(client.post(f"/api/turns/{tid}/feedback", json={"choice": "a"}), 409)


def test_cancel_leaves_finished_slots_alone(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "complete")
    response = client.post(f"/api/turns/{tid}/cancel")
    assert response.status_code == 202
    assert response.get_json()["cancelled"] == ["b"]
    turn = get_turn(client, cid, tid)
    assert [(r["status"], r["content"]) for r in turn["responses"]] == [
        (DONE, "complete"),
        ("cancelled", ""),
    ]


@pytest.mark.settings(MAX_TURNS_PER_CONVERSATION=2)
def test_a_full_conversation_refuses_more_turns(client):
    cid = client.post("/api/conversations", json={}).get_json()["id"]
    for i in range(2):
        assert (
            client.post(f"/api/conversations/{cid}/turns", json={"content": f"m{i}"}).status_code
            == 202
        )
    refused = client.post(f"/api/conversations/{cid}/turns", json={"content": "one more"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "conversation_full"
    assert len(client.get(f"/api/conversations/{cid}").get_json()["turns"]) == 2
