"""Paired streaming through the real stack: Celery worker -> Redis -> gunicorn -> websocket."""

from __future__ import annotations

import itertools
import threading

import pytest

from app.streaming import failures
from tests.fake_llm import expected_text

pytestmark = [pytest.mark.stack, pytest.mark.timeout(90)]


def _expected(endpoints: list[dict], content: str, name: str, context: list[dict]) -> str:
    endpoint = next(e for e in endpoints if e["name"] == name)
    return expected_text(name, context, endpoint["params"])


def _slot_endpoint(text: str) -> str:
    return text[1 : text.index("]")]  # the fake answers "[alpha] ..." / "[beta] ..."


def _assert_exact(stream, endpoints, content, slots="ab") -> None:
    context = [{"role": "user", "content": content}]
    for slot in slots:
        text = stream.text(slot)
        assert text == _expected(endpoints, content, _slot_endpoint(text), context)
        assert stream.seqs(slot) == list(range(1, len(stream.seqs(slot)) + 1))
        (terminal,) = stream.terminals(slot)
        assert terminal["type"] == "done"
        assert terminal["seq"] == len(stream.seqs(slot))
        assert terminal["finish_reason"] == "stop"
    assert stream.events[-1] == {"type": "end"}
    assert stream.close_code == 1000


def test_a_pair_streams_both_slots_exactly_and_interleaved(stack, endpoints):
    browser = stack.client()
    cid = browser.new_conversation()
    content = "Tell me something #tokens=60 #delay=0.01"
    turn = browser.send(cid, content, mode="pair")
    assert turn["paired"] is True and turn["slots"] == ["a", "b"]

    stream = browser.stream(turn["id"])

    _assert_exact(stream, endpoints, content)
    assert {_slot_endpoint(stream.text(s)) for s in "ab"} == {"alpha", "beta"}
    # Both slots are live at once: each slot's first token comes before the other's last.
    order = [e["slot"] for e in stream.events if e["type"] == "token"]
    for slot, other in (("a", "b"), ("b", "a")):
        assert order.index(slot) < len(order) - 1 - order[::-1].index(other)
    switches = sum(1 for x, y in itertools.pairwise(order) if x != y)
    assert switches >= 10
    # What was streamed is what was saved.
    saved = {r["slot"]: r for r in browser.turn(cid, turn["id"])["responses"]}
    for slot in "ab":
        assert saved[slot]["content"] == stream.text(slot)
        assert saved[slot]["status"] == "done"


def test_a_late_join_after_completion_replays_everything(stack, endpoints):
    browser = stack.client()
    cid = browser.new_conversation()
    content = "Late joiner #tokens=30"
    turn = browser.send(cid, content, mode="pair")
    first = browser.stream(turn["id"])

    again = browser.stream(turn["id"])

    _assert_exact(again, endpoints, content)
    for slot in "ab":
        assert again.of_slot(slot) == first.of_slot(slot)


def test_a_reconnect_with_after_resumes_without_gap_or_duplicate(stack, endpoints):
    browser = stack.client()
    cid = browser.new_conversation()
    content = "Resume me #tokens=80 #delay=0.01"
    turn = browser.send(cid, content, mode="pair")

    head = browser.stream(turn["id"], limit=25)  # then the connection drops
    held = {s: max(head.seqs(s), default=0) for s in "ab"}
    tail = browser.stream(turn["id"], f"?after_a={held['a']}&after_b={held['b']}")

    for slot in "ab":
        assert tail.seqs(slot)[:1] in ([held[slot] + 1], [])
    joined = type(head)(events=head.events + tail.events, close_code=tail.close_code)
    _assert_exact(joined, endpoints, content)


def test_many_sockets_on_one_turn_each_get_the_exact_text(stack, endpoints):
    browser = stack.client()
    cid = browser.new_conversation()
    content = "Fan out #tokens=50 #delay=0.005"
    turn = browser.send(cid, content, mode="pair")
    streams = []

    def read() -> None:
        streams.append(browser.stream(turn["id"]))

    readers = [threading.Thread(target=read) for _ in range(6)]
    for t in readers:
        t.start()
    for t in readers:
        t.join(60)

    assert len(streams) == 6
    for stream in streams:
        _assert_exact(stream, endpoints, content)


def test_a_single_turn_streams_one_slot(stack, endpoints):
    browser = stack.client()
    cid = browser.new_conversation()
    turn = browser.send(cid, "Just one #tokens=10", mode="single")
    assert turn == {"id": turn["id"], "paired": False, "slots": ["a"], "trigger": "single"}

    stream = browser.stream(turn["id"])

    # A single turn draws its endpoint by the pairing weights (equal here): either one.
    assert _slot_endpoint(stream.text("a")) in {e["name"] for e in endpoints}
    _assert_exact(stream, endpoints, "Just one #tokens=10", slots="a")


@pytest.mark.parametrize(
    ("directive", "says"),
    [  # in plain words that name no model; the detail is stored (tests/test_signal_stack.py)
        ("#fail=http500", failures.REFUSED),
        ("#fail=drop", failures.CUT_OFF),
        ("#fail=nofinish", failures.CUT_OFF),
        ("#fail=garbage", failures.UNREADABLE),
    ],
)
def test_a_failing_endpoint_ends_each_slot_with_one_error(stack, directive, says):
    browser = stack.client()
    cid = browser.new_conversation()
    turn = browser.send(cid, f"Break {directive} #tokens=20", mode="pair")

    stream = browser.stream(turn["id"])

    for slot in "ab":
        (terminal,) = stream.terminals(slot)
        assert terminal["type"] == "error"
        assert terminal["message"] == says
    assert stream.events[-1] == {"type": "end"}
    saved = browser.turn(cid, turn["id"])["responses"]
    assert [r["status"] for r in saved] == ["error", "error"]
    assert all(r["error"] == says for r in saved)
    assert "Traceback" not in str(saved)


def test_a_silent_endpoint_ends_in_error_after_the_read_timeout(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    turn = browser.send(cid, "Hang #fail=stall", mode="single")  # stack read timeout: 5 s

    stream = browser.stream(turn["id"], timeout=40)

    (terminal,) = stream.terminals("a")
    assert terminal["type"] == "error"
    assert terminal["message"] == failures.TOO_SLOW
    assert stream.events[-1] == {"type": "end"}


def test_the_api_key_never_reaches_the_client(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    turn = browser.send(cid, "Leak? #fail=http500", mode="pair")  # the fake echoes the header

    stream = browser.stream(turn["id"])
    conversation = browser.get(f"/api/conversations/{cid}").text

    assert "sk-test-secret" not in str(stream.events)
    assert "sk-test-secret" not in conversation


def _covered(stream, slot: str) -> list[int]:
    """The seqs a slot's token messages cover (first_seq..seq when tokens were joined)."""
    return [
        seq
        for e in stream.of_slot(slot)
        if e["type"] == "token"
        for seq in range(e.get("first_seq", e["seq"]), e["seq"] + 1)
    ]


def test_joined_tokens_give_the_exact_text_and_every_seq_once(stack, endpoints):
    browser = stack.client()
    cid = browser.new_conversation()
    content = "Join them #tokens=80 #delay=0.005"
    turn = browser.send(cid, content, mode="pair")

    head = browser.stream(turn["id"], "?join_tokens=1", limit=10)  # then it drops
    held = {s: max(_covered(head, s), default=0) for s in "ab"}
    tail = browser.stream(
        turn["id"], f"?join_tokens=1&after_a={held['a']}&after_b={held['b']}", timeout=30
    )
    late = browser.stream(turn["id"], "?join_tokens=1")  # after the end: one message a slot

    context = [{"role": "user", "content": content}]
    saved = {r["slot"]: r for r in browser.turn(cid, turn["id"])["responses"]}
    for slot in "ab":
        text = "".join(e["text"] for e in head.of_slot(slot) + tail.of_slot(slot) if "text" in e)
        assert text == _expected(endpoints, content, _slot_endpoint(text), context)
        assert text == saved[slot]["content"] == late.text(slot)
        seqs = _covered(head, slot) + _covered(tail, slot)
        assert seqs == list(range(1, len(seqs) + 1))
        (terminal,) = tail.terminals(slot)
        assert terminal["seq"] == seqs[-1]
        assert [e["type"] for e in late.of_slot(slot)] == ["token", "done"]
        assert late.of_slot(slot)[0]["first_seq"] == 1
    assert tail.close_code == 1000


def test_join_tokens_takes_0_or_1_only(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    turn = browser.send(cid, "hello #tokens=3")
    received = browser.stream(turn["id"], "?join_tokens=yes", timeout=10)
    assert received.events == []
    assert received.close_code == 4400
