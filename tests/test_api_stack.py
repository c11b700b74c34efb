"""The HTTP API against the real stack: gunicorn and a Celery worker generating from the fake
model server (feedback, reroll, cancel, the context of a later turn, two browsers)."""

from __future__ import annotations

import uuid

import pytest

from app.models import DONE
from tests.api_helpers import UNKNOWN_ID
from tests.fake_llm import expected_text


def _stream_to_end(browser, tid: str):
    stream = browser.stream(tid)
    assert stream.of_type("end"), stream.events
    return stream


def _unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:8]}"


@pytest.mark.stack
def test_stack_feedback_reveals_models_and_is_given_once(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    started = browser.send(cid, _unique("rate me #tokens=20"), mode="pair")
    tid = started["id"]
    stream = _stream_to_end(browser, tid)
    for slot in "ab":
        assert [e["type"] for e in stream.terminals(slot)] == ["done"]
    before = browser.turn(cid, tid)
    assert all("endpoint" not in r and "model" not in r for r in before["responses"])
    assert [r["content"] for r in before["responses"]] == [stream.text("a"), stream.text("b")]

    vote = browser.post(f"/api/turns/{tid}/feedback", {"choice": "b", "reason": "clearer"})
    assert vote.status_code == 201, vote.text
    body = vote.json()
    assert (body["choice"], body["reason"]) == ("b", "clearer")
    revealed = {r["slot"]: (r["endpoint"], r["model"]) for r in body["responses"]}
    assert sorted(revealed.values()) == [("alpha", "alpha-model"), ("beta", "beta-model")]
    for slot in "ab":  # the recorded endpoint is the one that wrote the text
        assert stream.text(slot).startswith("[" + revealed[slot][0][:2])

    after = browser.turn(cid, tid)
    assert {r["slot"]: (r["endpoint"], r["model"]) for r in after["responses"]} == revealed
    assert (after["feedback"]["choice"], after["feedback"]["reason"]) == ("b", "clearer")

    again = browser.post(f"/api/turns/{tid}/feedback", {"choice": "a"})
    assert again.status_code == 409
    assert set(again.json()["error"]) == {"code", "message"}
    assert browser.turn(cid, tid)["feedback"]["choice"] == "b"


@pytest.mark.stack
def test_stack_which_endpoint_lands_in_slot_a_is_random(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    in_slot_a = set()
    for i in range(20):  # one turn at a time; stop once both endpoints were seen in slot a
        tid = browser.send(cid, f"left or right {i} #tokens=3", mode="pair")["id"]
        _stream_to_end(browser, tid)
        vote = browser.post(f"/api/turns/{tid}/feedback", {"choice": "tie"})
        assert vote.status_code == 201, vote.text
        slots = {r["slot"]: r["endpoint"] for r in vote.json()["responses"]}
        assert sorted(slots.values()) == ["alpha", "beta"]
        in_slot_a.add(slots["a"])
        if len(in_slot_a) == 2:
            break
    assert in_slot_a == {"alpha", "beta"}  # fails with odds of 2 in 2**20


@pytest.mark.stack
def test_stack_reroll_keeps_slot_a_and_generates_slot_b(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    tid = browser.send(cid, _unique("once more #tokens=20"), mode="single")["id"]
    original = _stream_to_end(browser, tid).text("a")
    assert original and browser.turn(cid, tid)["responses"][0]["content"] == original

    response = browser.post(f"/api/turns/{tid}/reroll", {})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["id"], body["paired"], body["slots"]) == (tid, True, ["a", "b"])

    stream = _stream_to_end(browser, tid)
    assert stream.text("a") == original
    assert [e["type"] for e in stream.terminals("b")] == ["done"]
    turn = browser.turn(cid, tid)
    assert (turn["paired"], turn["trigger"]) == (True, "reroll")
    a, b = turn["responses"]
    assert (a["slot"], a["content"], a["status"]) == ("a", original, DONE)
    assert (b["slot"], b["content"], b["status"]) == ("b", stream.text("b"), DONE)
    assert b["content"] and b["content"] != original
    assert browser.post(f"/api/turns/{tid}/reroll", {}).status_code == 409


@pytest.mark.stack
def test_stack_cancel_ends_both_slots_with_the_partial_text(stack, fake_llm):
    browser = stack.client()
    cid = browser.new_conversation()
    message = _unique("long story #delay=0.2 #tokens=200")
    tid = browser.send(cid, message, mode="pair")["id"]
    first = browser.stream(tid, limit=1)  # generation is under way
    assert first.of_type("token")

    response = browser.post(f"/api/turns/{tid}/cancel", {})
    assert response.status_code == 202, response.text

    stream = _stream_to_end(browser, tid)
    turn = browser.turn(cid, tid)
    for slot, stored in zip("ab", turn["responses"], strict=True):
        assert [e["type"] for e in stream.terminals(slot)] == ["cancelled"]
        assert stored["status"] == "cancelled"
        assert stored["content"] == stream.text(slot)
    assert any(r["content"] for r in turn["responses"])
    # each slot holds the start of what its endpoint would have said in full: stopped early
    full_answers = [
        expected_text(path.split("/")[1], body["messages"], body, body.get("max_tokens"))
        for path, body in list(fake_llm.requests)
        if body["messages"][-1]["content"] == message
    ]
    assert full_answers
    for slot in "ab":
        partial = stream.text(slot)
        assert partial == "" or any(
            full.startswith(partial) and len(partial) < len(full) for full in full_answers
        ), (slot, partial)
    vote = browser.post(f"/api/turns/{tid}/feedback", {"choice": "a"})
    assert vote.status_code == 409


@pytest.mark.stack
def test_stack_a_later_turn_continues_with_the_chosen_response(stack, fake_llm):
    browser = stack.client()
    cid = browser.new_conversation(system_prompt="Answer briefly.")
    question = _unique("first question #tokens=12")
    tid = browser.send(cid, question, mode="pair")["id"]
    stream = _stream_to_end(browser, tid)
    chosen, rejected = stream.text("b"), stream.text("a")
    assert chosen and chosen != rejected
    assert browser.post(f"/api/turns/{tid}/feedback", {"choice": "b"}).status_code == 201

    follow_up = _unique("follow-up #tokens=3")
    next_tid = browser.send(cid, follow_up, mode="single")["id"]
    _stream_to_end(browser, next_tid)

    sent = [
        body["messages"]
        for _, body in list(fake_llm.requests)
        if body["messages"][-1]["content"] == follow_up
    ]
    assert len(sent) == 1
    assert sent[0] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": question},
        {"role": "assistant", "content": chosen},
        {"role": "user", "content": follow_up},
    ]


@pytest.mark.stack
def test_stack_two_browsers_are_isolated(stack):
    owner, stranger = stack.client(), stack.client()
    cid = owner.new_conversation()
    tid = owner.send(cid, _unique("mine only #tokens=5"), mode="pair")["id"]
    _stream_to_end(owner, tid)

    assert stranger.get(f"/api/conversations/{cid}").status_code == 404
    calls = [
        stranger.post(f"/api/conversations/{cid}/turns", {"content": "hi", "mode": "pair"}),
        stranger.post(f"/api/turns/{tid}/feedback", {"choice": "a"}),
        stranger.post(f"/api/turns/{tid}/reroll", {}),
        stranger.post(f"/api/turns/{tid}/cancel", {}),
    ]
    unknown = stranger.post(f"/api/turns/{UNKNOWN_ID}/feedback", {"choice": "a"})
    for call in calls:
        assert call.status_code == 404
        assert call.json()["error"]["code"] == "not_found"
    assert calls[1].json() == unknown.json()
    assert cid not in [c["id"] for c in stranger.get("/api/conversations").json()["conversations"]]

    spied = stranger.stream(tid)
    assert spied.close_code == 4404
    assert spied.events == []

    turn = owner.turn(cid, tid)
    assert turn["feedback"] is None and len(owner.conversation(cid)["turns"]) == 1
