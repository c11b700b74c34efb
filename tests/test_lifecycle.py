"""The watchdog, driven directly: slots that can no longer finish by themselves end once."""

from __future__ import annotations

import json
import time

import pytest

from app.extensions import db, redis_client
from app.models import Response
from app.streaming import failures, protocol
from app.streaming.lifecycle import watch_slots


def _queued_turn(client) -> str:
    cid = client.post("/api/conversations", json={}).get_json()["id"]
    body = {"content": "hi", "mode": "single"}
    return client.post(f"/api/conversations/{cid}/turns", json=body).get_json()["id"]


@pytest.mark.settings(GENERATION_QUEUE_TIMEOUT=1)
def test_a_slot_no_worker_starts_ends_in_error_once(app, client):
    tid = _queued_turn(client)  # no worker consumes the in-process app's queue
    with app.app_context():
        responses = list(db.session.scalars(db.select(Response).filter_by(turn_id=tid)))
        watch_slots(responses)
        assert responses[0].status == "streaming"  # not yet past the timeout
        time.sleep(1.2)
        watch_slots(responses)
        watch_slots(responses)  # a second watchdog (another socket, a sweep) changes nothing
        assert responses[0].status == "error"
        assert "no worker started the generation within 1 s" in responses[0].error
        events = [json.loads(e) for e in protocol.buffered_events(redis_client.get(), tid, "a")]
    assert events == [{"type": "error", "slot": "a", "message": failures.NOT_STARTED}]


def test_an_end_saved_but_never_published_is_published(app, client):
    tid = _queued_turn(client)
    with app.app_context():
        response = db.session.scalars(db.select(Response).filter_by(turn_id=tid)).one()
        # The ender claimed the slot and committed, then died before publishing.
        assert protocol.claim_terminal(redis_client.get(), tid, "a", 60)
        response.status, response.content, response.finish_reason = "done", "", "stop"
        db.session.commit()
        watch_slots([response])
        events = [json.loads(e) for e in protocol.buffered_events(redis_client.get(), tid, "a")]
    assert events == [{"type": "done", "slot": "a", "seq": 0, "finish_reason": "stop"}]


def test_a_slot_streaming_under_a_live_lease_is_left_alone_without_a_query(app, client, record_sql):
    tid = _queued_turn(client)
    with app.app_context():
        response = db.session.scalars(db.select(Response).filter_by(turn_id=tid)).one()
        redis = redis_client.get()
        assert protocol.begin_attempt(redis, tid, "a", lease_ms=60_000, ttl=60, max_attempts=2)
        with record_sql() as statements:
            watch_slots([response])  # every open socket runs this every few seconds
        assert statements == []
        assert response.status == "streaming"
        assert protocol.buffered_events(redis, tid, "a") == []


def test_a_socket_s_later_looks_at_a_live_slot_cost_no_query_either(app, client, record_sql):
    """A socket's watchdog ends its read transaction after each look (so the next one sees
    new rows, and no connection is held while it waits). Ending it must not expire the rows
    the socket holds: each later look, every few seconds per turn and web process, would
    read them all back just to learn their turn and slot."""
    from app.models import Turn
    from app.web.ws import make_relay

    tid = _queued_turn(client)
    with app.app_context():
        relay = make_relay(db.session.get(Turn, tid), after={}, is_open=lambda: True)
        redis = redis_client.get()
        assert protocol.begin_attempt(redis, tid, "a", lease_ms=60_000, ttl=60, max_attempts=2)
        assert relay.watch is not None
        with record_sql() as statements:
            for _ in range(3):
                relay.watch(["a"])
        assert statements == []
