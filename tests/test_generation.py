"""The generation task's own work, run in-process against the fake model server."""

from __future__ import annotations

import json

import pytest

from app.extensions import db, redis_client
from app.models import DONE, Response
from app.streaming import protocol
from tests.fake_llm import expected_text


@pytest.mark.timeout(60)
def test_a_generation_ends_its_slot_without_reading_back_what_it_wrote(
    app, client, queued, endpoints, r, record_sql
):
    """Each query a slot's start and end costs is paid 100 times when 50 people send at
    once, in a process whose other streams wait meanwhile."""
    from worker.generation import generate_response

    cid = client.post("/api/conversations", json={}).get_json()["id"]
    content = "Count for me #tokens=12"
    turn = client.post(
        f"/api/conversations/{cid}/turns", json={"content": content, "mode": "single"}
    )
    (response_id,) = queued
    with app.app_context(), record_sql() as statements:
        generate_response(response_id)
    with app.app_context():
        saved = db.session.get(Response, response_id)
        name, events = (
            saved.endpoint_name,
            protocol.buffered_events(redis_client.get(), turn.get_json()["id"], "a"),
        )
        assert saved.status == DONE

    params = next(e for e in endpoints if e["name"] == name)["params"]
    text = expected_text(name, [{"role": "user", "content": content}], params)
    assert saved.content == text
    assert "".join(json.loads(e).get("text", "") for e in events) == text
    assert json.loads(events[-1])["type"] == "done"
    # The response and its turn's context are read in one query; then only writes.
    first_commit = statements.index("COMMIT")
    assert statements[:first_commit].count("SELECT") == 1, statements
    assert statements[first_commit:] == ["COMMIT", "UPDATE", "COMMIT"], statements


@pytest.mark.timeout(60)
def test_a_worker_s_generations_share_their_connections_to_the_endpoint(
    app, client, queued, fake_llm
):
    """A generation after another one on the same endpoint reuses its connection."""
    from worker.generation import generate_response

    cid = client.post("/api/conversations", json={}).get_json()["id"]
    before = fake_llm.connections
    for content in ("one", "two", "three"):
        client.post(f"/api/conversations/{cid}/turns", json={"content": content, "mode": "single"})
        with app.app_context():
            generate_response(queued[-1])
            assert db.session.get(Response, queued[-1]).status == DONE
    # A single turn's endpoint is drawn at random, but every fake endpoint is a path on one
    # server: connections are pooled per host, so one serves all three generations.
    assert fake_llm.connections - before == 1
