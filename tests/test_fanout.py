"""The shared subscription against real Redis: one connection, exact fan-out, drops reported."""

from __future__ import annotations

import json
import threading
import time

import pytest
import redis

from app.streaming.fanout import Fanout, Lost
from app.streaming.relay import Relay
from tests.conftest import finish_slot, slot_writer


def _pubsub_clients(r: redis.Redis) -> int:
    """Subscribers on this test's database (the session's app stack uses another one)."""
    db = r.connection_pool.connection_kwargs["db"]
    return len([c for c in r.client_list(_type="pubsub") if c["db"] == str(db)])


def _kill_subscribers(r: redis.Redis) -> None:
    db = r.connection_pool.connection_kwargs["db"]
    for client in r.client_list(_type="pubsub"):
        if client["db"] == str(db):
            r.client_kill_filter(_id=client["id"])


def _drain(follower, count: int, timeout: float = 5.0) -> list[str]:
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        message = follower.get(timeout=0.1)
        if message is not None:
            got.append(message)
    return got


@pytest.mark.timeout(30)
def test_many_followers_share_one_connection_and_get_only_their_channel(r, fan):
    followers = {(c, i): fan.follow(f"ch{c}") for c in range(10) for i in range(2)}
    assert _pubsub_clients(r) == 1
    assert sorted(r.pubsub_channels()) == sorted(f"ch{c}" for c in range(10))
    for n in range(50):
        for c in range(10):
            r.publish(f"ch{c}", f"{c}:{n}")
    for (c, _), follower in followers.items():
        assert _drain(follower, 50) == [f"{c}:{n}" for n in range(50)]
        assert follower.get(timeout=0.05) is None  # nothing of another channel
    for follower in followers.values():
        follower.close()
    assert r.pubsub_channels() == []


@pytest.mark.timeout(60)
def test_following_right_after_the_last_follower_left_is_confirmed_for_real(r, fan):
    """Unsubscribe and subscribe race on one channel: a follow returns only once Redis has
    the new subscription, so a message published right after it always arrives."""
    for n in range(300):
        follower = fan.follow("flip")
        r.publish("flip", str(n))
        assert follower.get(timeout=5) == str(n)
        follower.close()


@pytest.mark.timeout(30)
def test_concurrent_follows_of_one_channel_all_receive(r, fan):
    followers = []
    lock = threading.Lock()

    def join() -> None:
        follower = fan.follow("shared")
        with lock:
            followers.append(follower)

    threads = [threading.Thread(target=join) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(followers) == 20
    r.publish("shared", "hello")
    assert all(f.get(timeout=5) == "hello" for f in followers)
    assert r.pubsub_numsub("shared") == [("shared", 1)]


@pytest.mark.timeout(30)
def test_a_dropped_connection_is_reported_and_a_new_follow_reconnects(r, fan):
    follower = fan.follow("drop")
    _kill_subscribers(r)  # what Redis does to a slow subscriber
    with pytest.raises(Lost):
        while follower.get(timeout=5) is not None:
            pass
    again = fan.follow("drop")
    r.publish("drop", "after")
    assert again.get(timeout=5) == "after"
    assert _pubsub_clients(r) == 1


@pytest.mark.timeout(30)
def test_a_connection_dropped_on_purpose_leaves_the_next_one_alone(r, fan):
    """A connection the fanout drops itself (here: closed; in production: an unsubscribe
    that failed) may still be read by the reader thread: its teardown must not break the
    connection the next follow opens, as it did when the old one went back to a shared
    pool and was handed out again."""
    for n in range(5):
        first = fan.follow(f"purpose-{n}")
        fan.close()
        with pytest.raises(Lost):
            first.get(timeout=5)
        again = fan.follow(f"purpose-{n}")
        time.sleep(0.2)  # the old reader thread winds down meanwhile
        r.publish(f"purpose-{n}", "after")
        assert again.get(timeout=5) == "after"
        again.close()


@pytest.mark.timeout(30)
def test_a_relay_recovers_what_was_published_while_its_subscription_was_down(r, fan):
    writer = slot_writer(r, "gap")
    writer.token("one ")
    relay = iter(Relay(r, fan, "gap", ["a"], poll=0.05))
    assert json.loads(next(relay))["text"] == "one "
    _kill_subscribers(r)
    time.sleep(0.2)  # the reader thread notices, nobody is subscribed now
    for piece in ("two ", "three"):
        writer.token(piece)
    finish_slot(r, "gap", "a", writer.seq)
    rest = [json.loads(raw) for raw in relay]
    assert [e["type"] for e in rest] == ["token", "token", "done", "end"]
    assert "".join(e.get("text", "") for e in rest) == "two three"


@pytest.mark.timeout(30)
def test_after_a_dropped_subscription_a_restarted_slot_is_not_reset_again(r, fan):
    old = slot_writer(r, "again")
    old.token("lost ")
    r.delete("duet:turn:{again}:lease:a")  # its worker died; a new attempt resets the slot
    new = slot_writer(r, "again")
    new.token("one ")
    relay = iter(Relay(r, fan, "again", ["a"], poll=0.05))
    assert [json.loads(next(relay))["type"] for _ in range(2)] == ["reset", "token"]
    _kill_subscribers(r)
    time.sleep(0.2)  # the relay is told, follows again and catches up from the buffer
    new.token("two")
    finish_slot(r, "again", "a", new.seq)
    rest = [json.loads(raw) for raw in relay]
    # Not the reset again, nor "one " once more: only what the client has not seen.
    assert [(e["type"], e.get("text")) for e in rest] == [
        ("token", "two"),
        ("done", None),
        ("end", None),
    ]


def test_a_reset_numbered_like_the_last_one_still_counts(r, fan):
    """A Redis that restarted empty numbers attempts afresh: a new reset of the same attempt
    number is a new reset."""
    first = slot_writer(r, "amnesiac", restart=True)
    first.token("before ")
    relay = iter(Relay(r, fan, "amnesiac", ["a"], poll=0.05))
    assert [json.loads(next(relay))["type"] for _ in range(2)] == ["reset", "token"]
    r.flushdb()  # Redis restarted empty; the database says the slot had started
    again = slot_writer(r, "amnesiac", restart=True)
    assert again.attempt == first.attempt == 1
    again.token("after")
    finish_slot(r, "amnesiac", "a", again.seq)
    rest = [json.loads(raw) for raw in relay]
    assert [(e["type"], e.get("text")) for e in rest] == [
        ("reset", None),
        ("token", "after"),
        ("done", None),
        ("end", None),
    ]


class _CountingRedis(redis.Redis):
    """Counts the pub/sub connections the fanout opens."""

    opened = 0

    def pubsub(self, **kwargs):
        type(self).opened += 1
        return super().pubsub(**kwargs)


def test_follow_fails_at_once_for_a_moment_after_redis_was_unreachable(monkeypatch):
    dead = Fanout(_CountingRedis(host="127.0.0.1", port=1, socket_connect_timeout=1))
    with pytest.raises(redis.RedisError):
        dead.follow("nowhere")
    for _ in range(20):  # every socket of the process reconnecting at once
        with pytest.raises(redis.ConnectionError, match="unreachable"):
            dead.follow("nowhere")
    assert _CountingRedis.opened == 1
    monkeypatch.setattr("app.streaming.fanout.RETRY_AFTER", 0.0)
    with pytest.raises(redis.RedisError):
        dead.follow("nowhere")
    assert _CountingRedis.opened == 2  # then it tries again
