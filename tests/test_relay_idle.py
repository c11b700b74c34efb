"""A quiet relay's insurance against a lost live message: it catches what a lost message
left unsent."""

from __future__ import annotations

import json

import pytest

from app.streaming import protocol
from app.streaming.relay import Relay
from tests.conftest import finish_slot, slot_writer


@pytest.mark.timeout(30)
def test_a_lost_last_message_is_sent_once_the_relay_has_been_quiet(r, fan):
    """The newest token reached only the buffer and nothing follows it live: the relay, quiet
    for `replay_when_idle`, finds it at the buffer's end and sends it."""
    writer = slot_writer(r, "quiet-loss", "a")
    writer.token("one")
    events = iter(Relay(r, fan, "quiet-loss", ["a"], poll=0.05, replay_when_idle=0.2))
    assert json.loads(next(events))["text"] == "one"
    writer.seq += 1  # "two" goes to the buffer only, as if its live message were lost
    r.rpush(
        protocol.buffer_key("quiet-loss", "a"), protocol.dump(protocol.token_event("a", 2, "two"))
    )
    assert json.loads(next(events)) == protocol.token_event("a", 2, "two")
    finish_slot(r, "quiet-loss", "a", writer.seq)
    assert [json.loads(raw)["type"] for raw in events] == ["done", "end"]
