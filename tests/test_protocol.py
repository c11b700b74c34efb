"""The stream protocol against real Redis: ordering, deduplication, races, claims."""

from __future__ import annotations

import json
import random
import threading
import time

import pytest
import redis

from app.streaming import protocol
from app.streaming.relay import Relay
from tests.conftest import finish_slot, slot_writer


def _lose_live(r: redis.Redis, writer: protocol.SlotWriter, text: str) -> None:
    """Append the writer's next token to the buffer only, as if its live message was lost."""
    writer.seq += 1
    r.rpush(
        protocol.buffer_key(writer.turn_id, writer.slot),
        json.dumps(protocol.token_event(writer.slot, writer.seq, text)),
    )


def _collect(relay: protocol.Relay) -> list[dict]:
    return [json.loads(raw) for raw in relay]


def test_relay_replays_a_finished_slot_then_ends(r, fan):
    writer = slot_writer(r, "t1", "a")
    for piece in ["Hé", "llo", " 🎉"]:
        assert writer.token(piece)
    finish_slot(r, "t1", "a", writer.seq)

    events = _collect(Relay(r, fan, "t1", ["a"]))

    assert [e["type"] for e in events] == ["token", "token", "token", "done", "end"]
    assert "".join(e["text"] for e in events if e["type"] == "token") == "Héllo 🎉"
    assert events[3]["seq"] == 3


def test_relay_resumes_after_the_given_seq(r, fan):
    writer = slot_writer(r, "t2", "a")
    for i in range(10):
        writer.token(str(i))
    finish_slot(r, "t2", "a", writer.seq)

    events = _collect(Relay(r, fan, "t2", ["a"], after={"a": 7}))

    assert [e.get("seq") for e in events if e["type"] == "token"] == [8, 9, 10]
    assert events[-2]["type"] == "done" and events[-1]["type"] == "end"


@pytest.mark.timeout(60)
def test_relays_joining_at_random_moments_miss_nothing_and_repeat_nothing(r, fan):
    """Subscribe-then-replay: a relay that starts while tokens are being published gets all."""
    total = 400
    text = [f"<{i}é>" for i in range(1, total + 1)]
    results: list[list[dict]] = []

    def follow() -> None:
        results.append(_collect(Relay(r, fan, "race", ["a", "b"], poll=0.05)))

    def write(slot: str) -> None:
        writer = slot_writer(r, "race", slot)
        for piece in text:
            writer.token(piece)
            if random.random() < 0.05:
                time.sleep(0.001)
        finish_slot(r, "race", slot, writer.seq)

    readers = []
    writers = [threading.Thread(target=write, args=(s,)) for s in "ab"]
    for w in writers:
        w.start()
    for _ in range(12):
        readers.append(threading.Thread(target=follow))
        readers[-1].start()
        time.sleep(random.random() * 0.02)
    for t in writers + readers:
        t.join(30)

    assert len(results) == 12
    for events in results:
        for slot in "ab":
            seqs = [e["seq"] for e in events if e.get("slot") == slot and e["type"] == "token"]
            assert seqs == list(range(1, total + 1))
            assert "".join(
                e["text"] for e in events if e.get("slot") == slot and e["type"] == "token"
            ) == "".join(text)
            assert len([e for e in events if e.get("slot") == slot and e["type"] == "done"]) == 1
        assert events[-1] == {"type": "end"}


def test_no_token_is_accepted_once_the_slot_is_claimed(r):
    writer = slot_writer(r, "t3", "a")
    assert writer.token("kept")
    assert protocol.claim_terminal(r, "t3", "a", 60)
    assert not writer.token("dropped")
    assert not protocol.claim_terminal(r, "t3", "a", 60)
    assert protocol.buffered_text(r, "t3", "a") == ("kept", 1)


def test_a_terminal_event_is_published_only_once(r):
    assert protocol.claim_terminal(r, "t4", "a", 60)
    assert protocol.emit_terminal(r, "t4", protocol.cancelled_event("a"), 60)
    assert not protocol.emit_terminal(r, "t4", protocol.error_event("a", "late"), 60)
    events = [json.loads(e) for e in protocol.buffered_events(r, "t4", "a")]
    assert events == [{"type": "cancelled", "slot": "a"}]


def test_relay_uses_the_fallback_when_the_buffer_has_expired(r, fan):
    fallback = {
        "a": [
            protocol.token_event("a", 1, "from the database"),
            protocol.done_event("a", 1, "stop"),
        ]
    }
    events = _collect(Relay(r, fan, "gone", ["a"], fallback=fallback.__getitem__))
    assert events[0]["text"] == "from the database"
    assert [e["type"] for e in events] == ["token", "done", "end"]


@pytest.mark.timeout(30)
def test_only_the_first_replay_takes_the_rows_read_at_opening(r, fan):
    """A socket opened before the first token needs no query; a later replay (here after the
    subscription dropped) reads afresh."""
    watched: list[list[str]] = []
    looked: list[tuple[str, bool]] = []  # (slot, whether the relay was past its first replay)

    def fallback(slot: str) -> list[dict]:
        looked.append((slot, bool(watched)))
        return [
            protocol.token_event(slot, 1, "finished meanwhile"),
            protocol.done_event(slot, 1, "stop"),
        ]

    def watch(pending: list[str]) -> None:
        watched.append(pending)
        db = str(r.connection_pool.connection_kwargs["db"])
        for client in r.client_list(_type="pubsub"):  # the subscription drops (as Redis
            if client["db"] == db:  # does to a slow subscriber): the relay replays
                r.client_kill_filter(_id=client["id"])

    relay = Relay(
        r, fan, "fresh", ["a"], fallback=fallback, opening={"a": []}, watch=watch,
        poll=0.05, watch_every=0,
    )  # fmt: skip
    events = _collect(relay)
    assert looked == [("a", True)]  # not in the first replay, where `opening` said: nothing yet
    assert [e["type"] for e in events] == ["token", "done", "end"]
    assert events[0]["text"] == "finished meanwhile"


@pytest.mark.timeout(30)
def test_relay_catches_up_from_the_buffer_when_live_messages_were_missed(r, fan):
    """A gap in live seqs (a dropped pub/sub message) is filled from the buffer."""
    writer = slot_writer(r, "gap", "a")
    writer.token("one")
    relay = iter(Relay(r, fan, "gap", ["a"], poll=0.05))
    assert json.loads(next(relay))["text"] == "one"
    # Write token 2 to the buffer only, as if its live message had been lost, then token 3.
    _lose_live(r, writer, "two")
    writer.token("three")
    finish_slot(r, "gap", "a", writer.seq)
    rest = [json.loads(raw) for raw in relay]
    assert [e.get("text") for e in rest if e["type"] == "token"] == ["two", "three"]
    assert rest[-1] == {"type": "end"}


@pytest.mark.timeout(30)
def test_relay_runs_the_watchdog_while_slots_are_pending(r, fan):
    calls = []

    def watch(pending: list[str]) -> None:
        calls.append(list(pending))
        if protocol.claim_terminal(r, "idle", "a", 60):
            protocol.emit_terminal(r, "idle", protocol.error_event("a", "worker lost"), 60)

    events = _collect(Relay(r, fan, "idle", ["a"], watch=watch, poll=0.05, watch_every=0.2))
    assert calls and calls[0] == ["a"]
    assert events == [{"type": "error", "slot": "a", "message": "worker lost"}, {"type": "end"}]


def test_relay_stops_when_the_socket_closes(r, fan):
    closed = threading.Event()
    closed.set()
    events = _collect(Relay(r, fan, "t5", ["a"], is_open=lambda: not closed.is_set()))
    assert events == []  # no `end`: the slot never finished


@pytest.mark.timeout(30)
def test_a_done_event_never_overtakes_missing_tokens(r, fan):
    writer = slot_writer(r, "tail", "a")
    writer.token("one")
    relay = iter(Relay(r, fan, "tail", ["a"], poll=0.05))
    assert json.loads(next(relay))["text"] == "one"
    # The last token reaches the buffer but its live message is lost; then `done` arrives.
    _lose_live(r, writer, "two")
    finish_slot(r, "tail", "a", writer.seq)
    rest = [json.loads(raw) for raw in relay]
    assert [e["type"] for e in rest] == ["token", "done", "end"]
    assert rest[0]["text"] == "two"


def test_a_new_attempt_resets_the_slot_and_fences_the_old_one(r, fan):
    first = slot_writer(r, "again", "a")
    assert first.token("old text")
    r.delete("duet:turn:{again}:lease:a")  # the first attempt's worker died
    second = slot_writer(r, "again", "a")
    assert second.attempt == 2
    assert not first.token("late old text")  # the dead attempt cannot write any more
    assert second.token("new")
    assert not protocol.claim_terminal(r, "again", "a", 60, attempt=1)
    assert protocol.claim_terminal(r, "again", "a", 60, attempt=2)
    protocol.emit_terminal(r, "again", protocol.done_event("a", 1, "stop"), 60)

    events = _collect(Relay(r, fan, "again", ["a"], after={"a": 1}))  # held the old "old text"

    assert [e["type"] for e in events] == ["reset", "token", "done", "end"]
    assert events[1] == {"type": "token", "slot": "a", "seq": 1, "text": "new"}
    assert protocol.buffered_text(r, "again", "a") == ("new", 1)


def test_attempts_are_bounded(r):
    for expected in (1, 2):
        assert protocol.begin_attempt(r, "loop", "a", lease_ms=10, ttl=60, max_attempts=2) == (
            expected
        )
        time.sleep(0.03)  # the lease lapses: the worker died again
    assert protocol.begin_attempt(r, "loop", "a", lease_ms=10, ttl=60, max_attempts=2) == -3


def test_a_running_or_ended_slot_cannot_begin_again(r):
    assert protocol.begin_attempt(r, "busy", "a", lease_ms=60_000, ttl=60, max_attempts=2) == 1
    assert protocol.begin_attempt(r, "busy", "a", lease_ms=60_000, ttl=60, max_attempts=2) == 0
    assert protocol.claim_terminal(r, "busy", "a", 60)
    r.delete("duet:turn:{busy}:lease:a")
    assert protocol.begin_attempt(r, "busy", "a", lease_ms=60_000, ttl=60, max_attempts=2) == 0


def test_a_restart_after_redis_lost_its_state_still_resets(r):
    assert (
        protocol.begin_attempt(
            r, "amnesia", "a", lease_ms=60_000, ttl=60, max_attempts=2, restart=True
        )
        == 1
    )
    assert [json.loads(e)["type"] for e in protocol.buffered_events(r, "amnesia", "a")] == ["reset"]


@pytest.mark.timeout(30)
def test_a_restart_seen_live_and_in_a_replay_is_sent_once(r, fan):
    old = slot_writer(r, "twice-reset", "a")
    old.token("old ")
    relay = iter(Relay(r, fan, "twice-reset", ["a"], poll=0.05))
    assert json.loads(next(relay))["text"] == "old "
    r.delete("duet:turn:{twice-reset}:lease:a")  # its worker died
    new = slot_writer(r, "twice-reset", "a")  # publishes `reset` live and puts it in the buffer
    assert json.loads(next(relay))["type"] == "reset"
    new.token("one ")
    # A live message is lost: the relay sees the gap and re-reads the buffer, which starts
    # with the same reset.
    _lose_live(r, new, "two ")
    new.token("three")
    finish_slot(r, "twice-reset", "a", new.seq)
    rest = [json.loads(raw) for raw in relay]
    assert [e["type"] for e in rest] == ["token", "token", "token", "done", "end"]
    assert [e["seq"] for e in rest[:3]] == [1, 2, 3]
    assert "".join(e["text"] for e in rest[:3]) == "one two three"


def test_a_reset_buffered_before_resets_had_ids_is_still_sent(r, fan):
    key = protocol.buffer_key("legacy", "a")
    r.rpush(key, json.dumps({"type": "reset", "slot": "a", "attempt": 2}))
    r.rpush(key, json.dumps(protocol.token_event("a", 1, "new")))
    r.rpush(key, json.dumps(protocol.done_event("a", 1, "stop")))
    events = _collect(Relay(r, fan, "legacy", ["a"], poll=0.05))
    assert [e["type"] for e in events] == ["reset", "token", "done", "end"]
