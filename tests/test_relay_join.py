"""Joined tokens (`?join_tokens=1`): a slot's consecutive tokens that wait to be sent go out
as one message covering `first_seq`..`seq`, with the exact text; nothing else changes."""

from __future__ import annotations

import json
import time

import pytest

from app.streaming import protocol
from app.streaming.relay import Relay
from tests.conftest import finish_slot, slot_writer


def _covered(messages: list[dict], slot: str) -> list[int]:
    """The seqs the slot's token messages cover, in order."""
    return [
        seq
        for m in messages
        if m["type"] == "token" and m["slot"] == slot
        for seq in range(m.get("first_seq", m["seq"]), m["seq"] + 1)
    ]


def test_a_replay_sends_each_slot_as_one_message(r, fan):
    pieces = ["Hé", "llo", " 🎉", "\u2028!"]
    writer = slot_writer(r, "replayed", "a")
    for piece in pieces:
        writer.token(piece)
    finish_slot(r, "replayed", "a", writer.seq)

    joined = [json.loads(m) for m in Relay(r, fan, "replayed", ["a"], join=True)]
    plain = [json.loads(m) for m in Relay(r, fan, "replayed", ["a"])]

    assert joined == [
        {"type": "token", "slot": "a", "seq": 4, "text": "".join(pieces), "first_seq": 1},
        {"type": "done", "slot": "a", "seq": 4, "finish_reason": "stop"},
        {"type": "end"},
    ]
    assert [m.get("text") for m in plain] == [*pieces, None, None]  # not asked: one per seq


def test_a_resumed_replay_starts_after_what_the_client_holds(r, fan):
    writer = slot_writer(r, "resumed", "a")
    for piece in ["one ", "two ", "three"]:
        writer.token(piece)
    finish_slot(r, "resumed", "a", writer.seq)

    messages = [json.loads(m) for m in Relay(r, fan, "resumed", ["a"], {"a": 1}, join=True)]

    assert messages[0] == {
        "type": "token", "slot": "a", "seq": 3, "text": "two three", "first_seq": 2,
    }  # fmt: skip
    assert _covered(messages, "a") == [2, 3]


@pytest.mark.timeout(30)
def test_live_tokens_waiting_together_go_as_one_message_per_slot(r, fan):
    a, b = slot_writer(r, "waiting", "a"), slot_writer(r, "waiting", "b")
    a.token("a1 ")
    relay = iter(Relay(r, fan, "waiting", ["a", "b"], poll=0.05, join=True))
    assert json.loads(next(relay))["text"] == "a1 "
    # The socket is behind: these wait in its queue while it is busy elsewhere.
    for writer, piece in ((b, "b1 "), (a, "a2 "), (b, "b2 "), (a, "a3 ")):
        writer.token(piece)
    time.sleep(0.3)
    first, second = json.loads(next(relay)), json.loads(next(relay))
    assert sorted([first, second], key=lambda m: m["slot"]) == [
        {"type": "token", "slot": "a", "seq": 3, "text": "a2 a3 ", "first_seq": 2},
        {"type": "token", "slot": "b", "seq": 2, "text": "b1 b2 ", "first_seq": 1},
    ]
    a.token("a4")  # alone in the queue: sent as it came
    assert json.loads(next(relay)) == protocol.token_event("a", 4, "a4")
    finish_slot(r, "waiting", "a", a.seq)
    finish_slot(r, "waiting", "b", b.seq)
    rest = [json.loads(m) for m in relay]
    assert sorted(m["type"] for m in rest) == ["done", "done", "end"]


@pytest.mark.timeout(30)
def test_tokens_are_never_joined_across_a_reset(r, fan):
    old = slot_writer(r, "across", "a")
    old.token("x")
    relay = iter(Relay(r, fan, "across", ["a"], poll=0.05, join=True))
    assert json.loads(next(relay))["text"] == "x"
    old.token("lost ")
    r.delete("duet:turn:{across}:lease:a")  # its worker died; a new attempt resets the slot
    new = slot_writer(r, "across", "a")
    new.token("fresh ")
    new.token("start")
    time.sleep(0.3)
    got = [json.loads(next(relay)) for _ in range(3)]
    assert [(m["type"], m.get("text"), m.get("first_seq")) for m in got] == [
        ("token", "lost ", None),
        ("reset", None, None),
        ("token", "fresh start", 1),
    ]
    finish_slot(r, "across", "a", new.seq)
    assert [json.loads(m)["type"] for m in relay] == ["done", "end"]


@pytest.mark.timeout(30)
def test_without_join_waiting_tokens_go_one_message_each(r, fan):
    writer = slot_writer(r, "unjoined", "a")
    writer.token("1")
    relay = iter(Relay(r, fan, "unjoined", ["a"], poll=0.05))
    assert json.loads(next(relay))["seq"] == 1
    for piece in "234":
        writer.token(piece)
    time.sleep(0.3)
    assert [json.loads(next(relay)) for _ in range(3)] == [
        protocol.token_event("a", seq, str(seq)) for seq in (2, 3, 4)
    ]
    finish_slot(r, "unjoined", "a", writer.seq)
    assert [json.loads(m)["type"] for m in relay] == ["done", "end"]
