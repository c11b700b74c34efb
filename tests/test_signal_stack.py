"""Retry and blind errors through the real stack: Celery worker -> Redis -> gunicorn ->
websocket, with the fake model endpoint failing on purpose (#fail=, #failfirst=)."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import create_engine, text

from app.streaming import failures
from config import normalise_database_url
from tests.fake_llm import expected_text

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]
# What would tell the models apart before the vote: the endpoints' names, their models, and
# where they are served.
NAMES = ("alpha", "beta", "127.0.0.1", "/v1")


def _unique(message: str) -> str:
    return f"{message} {uuid.uuid4().hex[:8]}"


def _expected(endpoints: list[dict], name: str, content: str) -> str:
    params = next(e for e in endpoints if e["name"] == name)["params"]
    return expected_text(name, [{"role": "user", "content": content}], params)


def _endpoint_of(text: str) -> str:
    return text[1 : text.index("]")]  # the fake answers "[alpha] ..." / "[beta] ..."


def _names_in(events: list[dict]) -> list[str]:
    """Endpoint or model names in the error events (token text is the model's own answer)."""
    shown = json.dumps([e for e in events if e["type"] == "error"])
    return [name for name in NAMES if name in shown]


def _without_contents(turn: dict) -> str:
    """The turn as JSON, leaving out what the models wrote (the fake writes its name)."""
    responses = [{k: v for k, v in r.items() if k != "content"} for r in turn["responses"]]
    return json.dumps({**turn, "responses": responses})


def _stored_errors(database_url: str, tid: str) -> list[str]:
    engine = create_engine(normalise_database_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT error FROM responses WHERE turn_id = :tid ORDER BY slot"),
                {"tid": tid},
            )
            return [row[0] for row in rows]
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("directive", "message"),
    [
        ("http500", failures.REFUSED),
        ("drop", failures.CUT_OFF),
        ("nofinish", failures.CUT_OFF),
        ("garbage", failures.UNREADABLE),
        ("hangup", failures.UNREACHABLE),
    ],
)
def test_a_failed_slot_names_no_model_before_the_vote(stack, database_url, directive, message):
    browser = stack.client()
    cid = browser.new_conversation()
    turn = browser.send(cid, _unique(f"Break #fail={directive} #tokens=20"), mode="pair")

    stream = browser.stream(turn["id"])

    for slot in "ab":
        (terminal,) = stream.terminals(slot)
        assert terminal == {"type": "error", "slot": slot, "message": message}
    assert _names_in(stream.events) == []
    shown = browser.turn(cid, turn["id"])
    assert [r["error"] for r in shown["responses"]] == [message, message]
    assert not [name for name in NAMES if name in _without_contents(shown)]
    # a socket opened later replays the same plain words
    assert _names_in(browser.stream(turn["id"]).events) == []
    # the detail, with the endpoint, is kept for the operator (log and raw export)
    stored = _stored_errors(database_url, turn["id"])
    assert sorted(e.split(":")[0] for e in stored) == ["alpha", "beta"]


def test_a_failed_pair_is_retried_and_streams_anew(stack, endpoints):
    browser = stack.client()
    cid = browser.new_conversation()
    content = _unique("Again please #failfirst=http500 #tokens=15")
    tid = browser.send(cid, content, mode="pair")["id"]
    failed = browser.stream(tid)
    assert [e["type"] for s in "ab" for e in failed.terminals(s)] == ["error", "error"]

    answer = browser.post(f"/api/turns/{tid}/retry", {})

    assert answer.status_code == 202, answer.text
    assert answer.json() == {"id": tid, "paired": True, "slots": ["a", "b"], "trigger": "requested"}
    stream = browser.stream(tid)
    for slot in "ab":
        events = stream.of_slot(slot)
        assert events[0]["type"] == "reset"
        assert [e["type"] for e in stream.terminals(slot)] == ["done"]
        assert stream.seqs(slot) == list(range(1, len(stream.seqs(slot)) + 1))
        assert stream.text(slot) == _expected(endpoints, _endpoint_of(stream.text(slot)), content)
    assert stream.events[-1] == {"type": "end"}
    saved = browser.turn(cid, tid)["responses"]
    assert [(r["status"], r["error"]) for r in saved] == [("done", None), ("done", None)]
    assert [r["content"] for r in saved] == [stream.text("a"), stream.text("b")]
    assert browser.post(f"/api/turns/{tid}/feedback", {"choice": "a"}).status_code == 201
    again = browser.post(f"/api/turns/{tid}/retry", {})
    assert again.status_code == 409 and again.json()["error"]["code"] == "nothing_to_retry"


def test_a_retry_while_watching_sends_reset_then_the_new_tokens(stack, endpoints):
    """A socket opened right after the retry, before the worker starts, gets the reset and
    then every token of the new attempt live, each slot ending once."""
    browser = stack.client()
    cid = browser.new_conversation()
    content = _unique("Slowly #failfirst=drop #tokens=30 #delay=0.02")
    tid = browser.send(cid, content, mode="single")["id"]
    assert [e["type"] for e in browser.stream(tid).terminals("a")] == ["error"]

    assert browser.post(f"/api/turns/{tid}/retry", {}).status_code == 202
    stream = browser.stream(tid)

    kinds = [e["type"] for e in stream.of_slot("a")]
    assert kinds[0] == "reset" and kinds[-1] == "done" and kinds.count("done") == 1
    assert "error" not in kinds
    assert stream.text("a") == _expected(endpoints, _endpoint_of(stream.text("a")), content)


def test_a_stopped_answer_is_retried_from_scratch(stack, endpoints):
    browser = stack.client()
    cid = browser.new_conversation()
    content = _unique("Long one #tokens=60 #delay=0.05")
    tid = browser.send(cid, content, mode="single")["id"]
    assert browser.stream(tid, limit=2).of_type("token")
    assert browser.post(f"/api/turns/{tid}/cancel", {}).status_code == 202
    stopped = browser.stream(tid)
    assert [e["type"] for e in stopped.terminals("a")] == ["cancelled"]

    assert browser.post(f"/api/turns/{tid}/retry", {}).status_code == 202
    stream = browser.stream(tid, timeout=60)

    assert stream.of_slot("a")[0]["type"] == "reset"
    assert [e["type"] for e in stream.terminals("a")] == ["done"]
    assert stream.text("a") == _expected(endpoints, _endpoint_of(stream.text("a")), content)
    assert browser.turn(cid, tid)["responses"][0]["content"] == stream.text("a")


def test_retrying_twice_at_once_starts_one_attempt(stack, endpoints):
    browser = stack.client()
    cid = browser.new_conversation()
    content = _unique("Twice #failfirst=http500 #tokens=10")
    tid = browser.send(cid, content, mode="single")["id"]
    browser.stream(tid)
    first = browser.post(f"/api/turns/{tid}/retry", {})
    second = browser.post(f"/api/turns/{tid}/retry", {})
    assert first.status_code == 202
    assert second.status_code in (202, 409)  # the first may have ended already
    stream = browser.stream(tid)
    assert [e["type"] for e in stream.terminals("a")] == ["done"]
    assert stream.text("a") == _expected(endpoints, _endpoint_of(stream.text("a")), content)
    time.sleep(0.5)
    assert browser.turn(cid, tid)["responses"][0]["content"] == stream.text("a")
