"""A campaign item's pair on the real stack (gunicorn, Celery worker, Redis, websockets): its
raters share one turn, the second gets it replayed byte for byte in the same slots, and a
browser it was not handed to cannot open it."""

from __future__ import annotations

import pytest

from tests.campaign_helpers import make_campaign
from tests.client import pair_mismatch

pytestmark = pytest.mark.stack


def test_stack_k_raters_share_one_pair_replayed_exactly(stack, campaign_app, endpoints):
    cid = make_campaign(campaign_app, "shared", items=1, overlap=2)
    first, second, stranger = stack.client(), stack.client(), stack.client()
    handed = first.post(f"/api/campaigns/{cid}/next")
    assert handed.status_code == 200, handed.text
    tid = handed.json()["turn"]["id"]
    live = first.stream(tid)
    assert pair_mismatch(live, endpoints, "prompt 1") is None

    again = second.post(f"/api/campaigns/{cid}/next")
    assert again.status_code == 200 and again.json()["turn"]["id"] == tid
    replayed = second.stream(tid)
    for slot in "ab":
        assert replayed.text(slot) == live.text(slot)  # the same answer in the same slot
    assert replayed.events[-1] == {"type": "end"}

    closed = stranger.stream(tid)
    assert closed.events == [] and closed.close_code == 4404
    assert stranger.post(f"/api/turns/{tid}/feedback", {"choice": "a"}).status_code == 404
    assert stranger.post(f"/api/campaigns/{cid}/next").status_code == 204  # both places taken

    models = []
    for client, choice in ((first, "a"), (second, "b")):
        voted = client.post(f"/api/turns/{tid}/feedback", {"choice": choice})
        assert voted.status_code == 201, voted.text
        models.append({r["slot"]: r["endpoint"] for r in voted.json()["responses"]})
    assert models[0] == models[1] and set(models[0].values()) == {"alpha", "beta"}
    for client in (first, second):
        assert client.post(f"/api/campaigns/{cid}/next").status_code == 204
