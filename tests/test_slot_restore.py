"""A Redis that restarts empty under a running slot, driven directly: the generation puts its
slot back and goes on, exactly; another attempt fences it; the watchdog waits for it."""

from __future__ import annotations

import json
import shutil
import threading
import time
from datetime import timedelta

import pytest
import redis

from app.extensions import db, redis_client
from app.models import Response, utcnow
from app.streaming import protocol
from app.streaming.lifecycle import watch_slots
from tests.stack import free_port
from tests.test_redis_outage import RedisServer
from worker.publisher import Publisher


def _writer(r: redis.Redis, tid: str, restart: bool = False) -> protocol.SlotWriter:
    lease = protocol.new_lease()
    attempt = protocol.begin_attempt(
        r, tid, "a", lease_ms=60_000, ttl=60, max_attempts=2, restart=restart, lease=lease
    )
    reset_id = lease if restart else ""
    return protocol.SlotWriter(r, tid, "a", 60, attempt, 60_000, lease=lease, reset_id=reset_id)


def _events(r: redis.Redis, tid: str) -> list[dict]:
    return [json.loads(e) for e in protocol.buffered_events(r, tid, "a")]


@pytest.mark.timeout(30)
@pytest.mark.parametrize("restart", [False, True])
def test_a_slot_redis_lost_is_put_back_by_its_generation_which_goes_on(r, restart):
    publisher = Publisher(r, outage=5)
    writer = _writer(r, "lost", restart)
    before = _events(r, "lost")  # a restarted slot's buffer starts with its reset
    outbox = publisher.open(writer)
    assert publisher.send(outbox, "one ") and publisher.send(outbox, "two ")
    assert publisher.flush(outbox)
    r.flushdb()  # what a Redis without persistence keeps across a restart

    assert publisher.send(outbox, "thrée 🎉") and publisher.flush(outbox)

    events = _events(r, "lost")
    assert events[: len(before)] == before
    tokens = events[len(before) :]
    assert [e["seq"] for e in tokens] == list(range(1, len(tokens) + 1))
    assert "".join(e["text"] for e in tokens) == "one two thrée 🎉" == outbox.text()
    assert protocol.slot_state(r, "lost", "a") == protocol.SlotState(writer.attempt, True, False)
    assert protocol.claim_terminal(r, "lost", "a", 60, attempt=writer.holder)


def test_after_redis_lost_the_slot_a_new_attempt_fences_the_old_one(r):
    old = _writer(r, "fenced")
    assert old.token("old ")
    r.flushdb()
    new = _writer(r, "fenced", restart=True)  # the watchdog took the slot for lost
    assert new.attempt == old.attempt == 1  # numbered afresh: only the lease tells them apart

    assert not old.token("late")
    assert old.restore() == 0
    assert not old.renew()
    assert not protocol.claim_terminal(r, "fenced", "a", 60, attempt=old.holder)
    assert new.token("new")
    assert protocol.buffered_text(r, "fenced", "a") == ("new", 1)


def test_the_heartbeat_puts_the_slot_back_while_the_model_is_silent(r):
    writer = _writer(r, "silent")
    assert writer.token("said ")
    r.flushdb()

    assert writer.renew()

    assert protocol.buffered_text(r, "silent", "a") == ("said ", 1)
    assert writer.token("more")
    assert protocol.buffered_text(r, "silent", "a") == ("said more", 2)


def test_a_lapsed_lease_is_taken_back_unless_another_attempt_began(r):
    writer = _writer(r, "lapsed")
    assert writer.token("a")
    r.delete("duet:turn:{lapsed}:lease:a")  # the worker stalled past its lease
    assert writer.token("b")  # nobody began another attempt: the lease is retaken
    assert protocol.buffered_text(r, "lapsed", "a") == ("ab", 2)
    r.delete("duet:turn:{lapsed}:lease:a")
    _writer(r, "lapsed")  # the watchdog's restart began meanwhile
    assert not writer.token("c")


def test_restoring_a_slot_redis_still_has_sends_none_of_its_text(r, monkeypatch):
    """Every generation's end restores its slot first: with nothing lost, its events (the
    whole text) must not travel to Redis; after a loss they do, and the slot is rebuilt."""
    writer = _writer(r, "whole", restart=True)
    for n in range(200):
        assert writer.token(f"token {n} ")
    sent: list[int] = []
    call = protocol._call

    def counting(redis_, source, keys, args):
        if source == protocol.scripts.RESTORE:
            sent.append(len(args))
        return call(redis_, source, keys, args)

    monkeypatch.setattr(protocol, "_call", counting)

    assert writer.restore() == 1
    assert sent == [6]  # lease, lease ms, ttl, attempt, last seq, "ask": no events

    r.flushdb()
    sent.clear()
    assert writer.restore() == 2
    assert sent == [6, 6 + 1 + 200]  # asked, then sent: the reset and the 200 tokens
    text = "".join(f"token {n} " for n in range(200))
    assert protocol.buffered_text(r, "whole", "a") == (text, 200)
    assert _events(r, "whole")[0]["type"] == "reset"
    assert writer.token("more")


def test_a_restore_racing_an_append_after_redis_lost_the_slot_keeps_both(r):
    """The heartbeat and the publisher find the slot gone at the same moment and both put it
    back. Asking whether the slot needs its events must write nothing: had it taken the
    lease, the publisher's append would land in the empty buffer between the ask and the
    rebuild, and the rebuild would then take the slot for another attempt's (CI saw that
    restart slots whose worker lived)."""
    writer = _writer(r, "race")
    for piece in ("one ", "two "):
        assert writer.token(piece)
    r.flushdb()

    assert writer._restore(with_events=False) == 3  # the heartbeat asks first...
    assert writer.token("three")  # ...the publisher's append comes in between...
    assert writer.restore() in (1, 2)  # ...and the heartbeat's rebuild still holds the slot

    assert protocol.buffered_text(r, "race", "a") == ("one two three", 3)
    assert writer.token(" four")
    assert protocol.buffered_text(r, "race", "a") == ("one two three four", 4)


@pytest.mark.timeout(60)
@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_the_publisher_rides_out_a_redis_restart_and_loses_nothing(tmp_path):
    server = RedisServer(free_port(), tmp_path)
    server.start()
    client = redis.Redis(port=server.port, decode_responses=True, socket_connect_timeout=1)
    try:
        publisher = Publisher(client, outage=20, backoff=0.1)
        outbox = publisher.open(_writer(client, "down"))
        pieces = [f"<{i}é>" for i in range(40)]
        for piece in pieces[:10]:
            assert publisher.send(outbox, piece)
        assert publisher.flush(outbox)

        server.kill()
        sender = threading.Thread(
            target=lambda: [publisher.send(outbox, p) and time.sleep(0.05) for p in pieces[10:]]
        )
        sender.start()  # the model goes on streaming while Redis is away
        time.sleep(1.5)
        server.start()  # back, empty
        sender.join()
        assert publisher.flush(outbox)

        tokens = _events(client, "down")
        assert [e["seq"] for e in tokens] == list(range(1, len(tokens) + 1))
        assert "".join(e["text"] for e in tokens) == "".join(pieces) == outbox.text()
    finally:
        server.kill()


@pytest.mark.timeout(30)
def test_redis_that_stays_away_past_the_grace_fails_the_slot():
    unreachable = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2)
    publisher = Publisher(unreachable, outage=1, backoff=0.1)
    outbox = publisher.open(protocol.SlotWriter(unreachable, "x", "a", 60, 1, 1000))
    started = time.monotonic()
    publisher.send(outbox, "lost")
    with pytest.raises(redis.ConnectionError):
        publisher.flush(outbox)
    assert time.monotonic() - started >= 1


def _streaming_response(app, client, **changes) -> tuple[str, Response]:
    cid = client.post("/api/conversations", json={}).get_json()["id"]
    body = {"content": "hi", "mode": "single"}
    tid = client.post(f"/api/conversations/{cid}/turns", json=body).get_json()["id"]
    response = db.session.scalars(db.select(Response).filter_by(turn_id=tid)).one()
    for name, value in changes.items():
        setattr(response, name, value)
    db.session.commit()
    return tid, response


@pytest.mark.settings(SLOT_LEASE_SECONDS=0.5)
def test_the_watchdog_gives_a_slot_redis_lost_two_leases_to_come_back(app, client, queued):
    with app.app_context():
        # Started, streaming, and Redis has no key of it: Redis restarted empty.
        tid, response = _streaming_response(app, client, started_at=utcnow())
        queued.clear()
        watch_slots([response])
        watch_slots([response])
        assert queued == [] and response.status == "streaming"  # its generation may be alive
        time.sleep(1.1)
        watch_slots([response])  # two leases later it was not: restart it
        assert queued == [response.id]
        assert protocol.buffered_events(redis_client.get(), tid, "a") == []


def test_a_slot_queued_before_redis_restarted_is_queued_again_once(app, client, queued):
    with app.app_context():
        started = protocol.redis_started_at(redis_client.get())
        _, response = _streaming_response(app, client, queued_at=started - timedelta(seconds=2))
        queued.clear()
        watch_slots([response])
        watch_slots([response])
        assert queued == [response.id]  # its message went with the old Redis; one is enough


def test_a_slot_queued_since_redis_started_is_not_queued_again(app, client, queued):
    with app.app_context():
        _, response = _streaming_response(app, client)
        queued.clear()
        watch_slots([response])
        assert queued == []
