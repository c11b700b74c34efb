"""The worker's batched token publisher against real Redis: exact, ordered, fenced."""

from __future__ import annotations

import json
import threading
import time

import pytest
import redis

from app.streaming import protocol
from worker.publisher import Publisher


def _writer(r: redis.Redis, tid: str, slot: str = "a") -> protocol.SlotWriter:
    attempt = protocol.begin_attempt(r, tid, slot, lease_ms=60_000, ttl=60, max_attempts=2)
    return protocol.SlotWriter(r, tid, slot, 60, attempt, 60_000)


def _tokens(r: redis.Redis, tid: str, slot: str = "a") -> list[dict]:
    return [json.loads(e) for e in protocol.buffered_events(r, tid, slot)]


@pytest.mark.timeout(60)
def test_many_slots_at_once_get_their_exact_text_in_order(r):
    publisher = Publisher(r)
    pieces = [f"<{i}é🎉>" for i in range(300)]
    outboxes = {}

    def generate(n: int) -> None:
        outbox = outboxes[n] = publisher.open(_writer(r, f"t{n}"))
        for piece in pieces:
            assert publisher.send(outbox, piece)
        assert publisher.flush(outbox)

    threads = [threading.Thread(target=generate, args=(n,)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    total_messages = 0
    for n, outbox in outboxes.items():
        events = _tokens(r, f"t{n}")
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        assert "".join(e["text"] for e in events) == "".join(pieces)
        assert outbox.text() == "".join(pieces) and outbox.tokens == len(pieces)
        assert outbox.writer.seq == len(events)
        total_messages += len(events)
    assert len(outboxes) == 40
    # 12,000 tokens sent as fast as 40 threads can: what piled up went out together.
    assert total_messages < 40 * len(pieces)


@pytest.mark.timeout(30)
def test_nothing_is_appended_once_the_slot_is_claimed(r):
    publisher = Publisher(r)
    outbox = publisher.open(_writer(r, "cut"))
    assert publisher.send(outbox, "kept ")
    assert publisher.flush(outbox)
    assert protocol.claim_terminal(r, "cut", "a", 60)  # the user pressed stop
    publisher.send(outbox, "refused")
    assert not publisher.flush(outbox)
    assert not publisher.send(outbox, "later")
    assert protocol.buffered_text(r, "cut", "a") == ("kept ", 1)
    assert outbox.text() == "kept "


@pytest.mark.timeout(30)
def test_a_redis_failure_is_raised_to_the_generation():
    publisher = Publisher(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=1))
    writer = protocol.SlotWriter(redis.Redis(host="127.0.0.1", port=1), "x", "a", 60, 1, 1000)
    outbox = publisher.open(writer)
    publisher.send(outbox, "lost")
    with pytest.raises(redis.ConnectionError):
        publisher.flush(outbox)
    with pytest.raises(redis.ConnectionError):
        publisher.send(outbox, "more")


@pytest.mark.timeout(30)
def test_tokens_still_go_out_after_redis_lost_its_scripts(r):
    publisher = Publisher(r)
    outbox = publisher.open(_writer(r, "flushed"))
    assert publisher.send(outbox, "one ")
    assert publisher.flush(outbox)
    r.script_flush()  # a Redis restart forgets loaded scripts
    assert publisher.send(outbox, "two")
    assert publisher.flush(outbox)
    assert protocol.buffered_text(r, "flushed", "a") == ("one two", 2)


def test_an_append_sent_twice_is_written_once(r):
    """A client that retries after a timeout may send the same append again."""
    writer = _writer(r, "twice")
    protocol.load_scripts(r)
    pipe = r.pipeline(transaction=False)
    writer.stage(pipe, "once")
    writer.stage(pipe, "once")  # the same seq again
    assert pipe.execute() == [1, 1]
    writer.appended()
    assert writer.token("then")
    assert protocol.buffered_text(r, "twice", "a") == ("oncethen", 2)


def test_a_new_attempt_starts_counting_again(r):
    first = _writer(r, "redo")
    assert first.token("old") and first.token("er")
    r.delete("duet:turn:{redo}:lease:a")  # its worker died
    second = _writer(r, "redo")
    assert second.token("new")
    assert protocol.buffered_text(r, "redo", "a") == ("new", 1)


@pytest.mark.timeout(30)
def test_under_load_a_round_waits_out_the_interval_so_tokens_share_it(r):
    publisher = Publisher(r, interval=0.5)
    outboxes = [publisher.open(_writer(r, f"gather{n}")) for n in range(3)]
    for outbox in outboxes:
        assert publisher.send(outbox, "first ")
    for i in range(5):  # tokens every 20 ms, well inside one interval
        for outbox in outboxes:
            assert publisher.send(outbox, f"{i}")
        time.sleep(0.02)
    for outbox in outboxes:
        assert publisher.flush(outbox)
    for n, outbox in enumerate(outboxes):
        events = _tokens(r, f"gather{n}")
        assert "".join(e["text"] for e in events) == "first 01234"
        assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
        # Without the interval each 20 ms token went out in a round of its own.
        assert len(events) <= 3, events
        assert outbox.tokens == 6


@pytest.mark.timeout(30)
def test_after_a_quiet_moment_a_token_goes_out_without_waiting(r):
    publisher = Publisher(r, interval=2.0)
    outbox = publisher.open(_writer(r, "quiet"))
    assert publisher.send(outbox, "one ") and publisher.flush(outbox)
    time.sleep(2.1)  # longer than the interval: nothing to gather with
    started = time.monotonic()
    assert publisher.send(outbox, "two") and publisher.flush(outbox)
    assert time.monotonic() - started < 1.0
    assert protocol.buffered_text(r, "quiet", "a") == ("one two", 2)


@pytest.mark.timeout(10)
def test_a_slot_still_gets_written_when_the_publisher_thread_died_after_it_opened(r, monkeypatch):
    publisher = Publisher(r)
    with monkeypatch.context() as m:
        m.setattr(publisher, "_start", lambda: None)  # no thread runs: as if it had died
        outbox = publisher.open(_writer(r, "orphan"))
        assert publisher.send(outbox, "still ") and publisher.send(outbox, "here")
    assert publisher.flush(outbox)  # would wait forever with nobody writing
    assert protocol.buffered_text(r, "orphan", "a")[0] == "still here"
