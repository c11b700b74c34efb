"""A quiet relay's insurance against a lost live message: it catches what a lost message
left unsent."""

from __future__ import annotations

import itertools
import json
import threading
import time

import pytest

from app.streaming import protocol
from app.streaming import relay as relay_module
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


def _follow_in_threads(relays: list[Relay]) -> tuple[list[list[dict]], list[threading.Thread]]:
    received: list[list[dict]] = [[] for _ in relays]

    def run(i: int) -> None:
        received[i].extend(json.loads(raw) for raw in relays[i])

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(relays))]
    for thread in threads:
        thread.start()
    return received, threads


@pytest.mark.timeout(30)
def test_every_quiet_socket_of_a_turn_gets_a_lost_last_message(r, fan, monkeypatch):
    """Twenty sockets on one turn, all quiet: the turn's buffers are looked at once per
    interval, not once per socket, and every socket is sent what the look found."""
    looks = []
    monkeypatch.setattr(
        relay_module,
        "buffer_ends",
        lambda *args: looks.append(time.monotonic()) or protocol.buffer_ends(*args),
        raising=False,  # (so that the test runs, and fails, on a relay without the look)
    )
    writer = slot_writer(r, "quiet-many", "a")
    writer.token("one")
    relays = [
        Relay(r, fan, "quiet-many", ["a"], poll=0.05, replay_when_idle=0.3) for _ in range(20)
    ]
    received, threads = _follow_in_threads(relays)
    time.sleep(1.0)  # quiet: three intervals or so
    writer.seq += 1  # "two" goes to the buffer only, as if its live message were lost
    r.rpush(
        protocol.buffer_key("quiet-many", "a"), protocol.dump(protocol.token_event("a", 2, "two"))
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not all(len(got) >= 2 for got in received):
        time.sleep(0.05)
    finish_slot(r, "quiet-many", "a", writer.seq)
    for thread in threads:
        thread.join(5)
    for got in received:
        assert [(e["type"], e.get("text")) for e in got] == [
            ("token", "one"),
            ("token", "two"),
            ("done", None),
            ("end", None),
        ]
    # One look per 0.3 s for the turn (a few, over the second or two it was quiet), where
    # one per socket would be twenty times that.
    assert 1 <= len(looks) <= 12, len(looks)


@pytest.mark.timeout(30)
def test_the_watchdog_runs_once_per_interval_for_all_the_sockets_of_a_turn(r, fan):
    watched: list[float] = []
    writer = slot_writer(r, "watched-many", "a")
    writer.token("one")
    relays = [
        Relay(r, fan, "watched-many", ["a"], poll=0.05, watch_every=0.2,
              watch=lambda pending: watched.append(time.monotonic()))
        for _ in range(20)
    ]  # fmt: skip
    received, threads = _follow_in_threads(relays)
    time.sleep(1.5)
    finish_slot(r, "watched-many", "a", writer.seq)
    for thread in threads:
        thread.join(5)
    assert all([e["type"] for e in got] == ["token", "done", "end"] for got in received)
    # About 1.5 / 0.2 = 7 runs for the turn; per socket it would be about 140.
    assert 3 <= len(watched) <= 12, len(watched)
    gaps = [b - a for a, b in itertools.pairwise(watched)]
    assert min(gaps) >= 0.19  # never two at once
