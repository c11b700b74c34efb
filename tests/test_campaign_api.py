"""The campaign calls: GET /api/campaigns and POST /api/campaigns/<id>/next, and what they do
to turns: one shared pair per item, one vote per rater, skips, abandoned assignments.

In-process (no worker: `queued` records what would be generated, and a test plays the
worker by finishing responses in the database)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.campaigns.agreement import rater_agreement
from app.extensions import db
from app.models import Assignment, Campaign, Conversation, Feedback, Response, Turn
from tests.api_helpers import UNKNOWN_ID, assert_error, new_conversation, send
from tests.campaign_helpers import (
    age_assignments,
    finish_pair,
    make_campaign,
    next_item,
    vote,
)


@pytest.fixture
def raters(campaign_app):
    """Three more browsers, each an anonymous rater."""
    return [campaign_app.test_client() for _ in range(3)]


def listed(client) -> dict:
    response = client.get("/api/campaigns")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {c["name"]: c for c in response.get_json()["campaigns"]}


def test_the_list_shows_open_campaigns_with_progress(campaign_app, client, queued):
    first = make_campaign(campaign_app, "first", items=2, overlap=1, guidelines="# Be fair")
    make_campaign(campaign_app, "second", items=3, overlap=2)
    closed = make_campaign(campaign_app, "closed", items=1)
    with campaign_app.app_context():
        db.session.get(Campaign, closed).closed_at = db.func.now()
        db.session.commit()
    campaigns = listed(client)
    assert set(campaigns) == {"first", "second"}
    assert {k: campaigns["first"][k] for k in ("id", "guidelines", "items", "rated", "mine")} == {
        "id": first,
        "guidelines": "# Be fair",
        "items": 2,
        "rated": 0,
        "mine": 0,
    }
    handed = next_item(client, first)
    finish_pair(campaign_app, handed["turn"]["id"])
    assert vote(client, handed["turn"]["id"], "b").status_code == 201
    after = listed(client)["first"]
    assert (after["rated"], after["mine"]) == (1, 1)


def test_next_hands_an_item_and_its_pair(campaign_app, client, queued):
    cid = make_campaign(campaign_app, items=2, overlap=1)
    body = next_item(client, cid)
    assert set(body["item"]) >= {"id", "prompt", "system_prompt"}
    assert body["item"]["prompt"] == "prompt 1" and body["item"]["system_prompt"] is None
    assert body["turn"]["paired"] is True and body["turn"]["slots"] == ["a", "b"]
    assert body["campaign"]["items"] == 2 and body["item"]["votes"] == 0
    assert len(queued) == 2  # both slots queued at once
    with campaign_app.app_context():
        turn = db.session.get(Turn, body["turn"]["id"])
        assert turn.trigger == "campaign" and turn.content == "prompt 1"
        assert turn.context == [{"role": "user", "content": "prompt 1"}]
    # The item's conversation is nobody's: it is not in the rater's list.
    assert client.get("/api/conversations").get_json()["conversations"] == []


def test_a_system_prompt_goes_with_the_item(campaign_app, client, queued):
    from app.campaigns.sources import Prompt
    from app.campaigns.store import create_campaign

    with campaign_app.app_context():
        cid = create_campaign("sys", [Prompt("Hi", "Answer in French.", "t:1")]).id
    body = next_item(client, cid)
    assert body["item"]["system_prompt"] == "Answer in French."
    with campaign_app.app_context():
        context = db.session.get(Turn, body["turn"]["id"]).context
    assert context[0] == {"role": "system", "content": "Answer in French."}


def test_the_same_item_comes_back_until_the_rater_votes(campaign_app, client, queued):
    cid = make_campaign(campaign_app, items=3)
    first = next_item(client, cid)
    assert next_item(client, cid) == first  # a reload gets the same item, no new pair
    assert len(queued) == 2
    finish_pair(campaign_app, first["turn"]["id"])
    assert vote(client, first["turn"]["id"]).status_code == 201
    second = next_item(client, cid)
    assert second["item"]["id"] != first["item"]["id"]


def test_k_raters_share_one_turn_and_each_votes_once(campaign_app, client, raters, queued):
    cid = make_campaign(campaign_app, items=2, overlap=2)
    one, two, three = raters
    a = next_item(one, cid)
    b = next_item(two, cid)  # the other item: it has fewer raters on it
    c = next_item(three, cid)  # item 1's second place: the same turn
    assert a["item"]["id"] != b["item"]["id"]
    assert c["item"]["id"] == a["item"]["id"] and c["turn"]["id"] == a["turn"]["id"]
    assert len(queued) == 4  # two pairs, not three
    tid = a["turn"]["id"]
    finish_pair(campaign_app, tid)
    assert vote(one, tid, "a").status_code == 201
    assert vote(three, tid, "b").status_code == 201
    assert_error(vote(one, tid, "b"), 409, "already_rated")
    assert_error(vote(client, tid, "a"), 404)  # never handed it: as if it did not exist
    with campaign_app.app_context():
        choices = db.session.execute(select(Feedback.choice).where(Feedback.turn_id == tid))
        assert sorted(choices.scalars()) == ["a", "b"]
    # Each rater's answer reveals the models, and their own vote stays theirs to explain.
    explained = one.patch(f"/api/turns/{tid}/feedback", json={"reason": "clearer"})
    assert explained.status_code == 200 and explained.get_json()["choice"] == "a"


def test_nothing_left_is_204_and_never_an_item_voted_on_or_skipped(campaign_app, client, queued):
    cid = make_campaign(campaign_app, items=3, overlap=1)
    seen = []
    first = next_item(client, cid)
    finish_pair(campaign_app, first["turn"]["id"])
    assert vote(client, first["turn"]["id"]).status_code == 201
    seen.append(first["item"]["id"])
    second = next_item(client, cid)
    skipped = client.post(f"/api/turns/{second['turn']['id']}/skip", json={"reason": "unclear"})
    assert skipped.status_code == 201, skipped.get_data(as_text=True)
    seen.append(second["item"]["id"])
    third = next_item(client, cid)
    assert third["item"]["id"] not in seen
    finish_pair(campaign_app, third["turn"]["id"])
    assert vote(client, third["turn"]["id"]).status_code == 201
    response = client.post(f"/api/campaigns/{cid}/next", json={})
    assert response.status_code == 204 and response.get_data() == b""


def test_a_skipped_items_place_goes_to_another_rater(campaign_app, client, other, queued):
    cid = make_campaign(campaign_app, items=1, overlap=1)
    mine = next_item(client, cid)
    assert next_item(other, cid) is None  # the one place is taken
    assert client.post(f"/api/turns/{mine['turn']['id']}/skip", json={}).status_code == 201
    theirs = next_item(other, cid)
    assert theirs["turn"]["id"] == mine["turn"]["id"]
    assert next_item(client, cid) is None  # and never back to the rater who skipped it


def test_an_abandoned_assignment_goes_back_to_the_pool(campaign_app, client, other, queued):
    cid = make_campaign(campaign_app, items=1, overlap=1)
    mine = next_item(client, cid)
    tid = mine["turn"]["id"]
    assert next_item(other, cid) is None
    timeout = campaign_app.config["CAMPAIGN_ASSIGNMENT_TIMEOUT"]
    age_assignments(campaign_app, timeout - 5)
    assert next_item(other, cid) is None  # not yet
    age_assignments(campaign_app, 10)
    theirs = next_item(other, cid)
    assert theirs["turn"]["id"] == tid  # the same pair, not a new one
    assert len(queued) == 2
    finish_pair(campaign_app, tid)
    assert vote(other, tid, "b").status_code == 201
    # The first rater's late vote finds the item's one place taken.
    assert_error(vote(client, tid, "a"), 409, "assignment_expired")
    assert next_item(client, cid) is None


def test_a_late_vote_counts_while_a_place_is_free(campaign_app, client, other, queued):
    cid = make_campaign(campaign_app, items=1, overlap=2)
    tid = next_item(client, cid)["turn"]["id"]
    age_assignments(campaign_app, campaign_app.config["CAMPAIGN_ASSIGNMENT_TIMEOUT"] + 60)
    finish_pair(campaign_app, tid)
    assert vote(client, tid, "a").status_code == 201  # nobody took the place meanwhile
    assert next_item(other, cid)["turn"]["id"] == tid  # the second place
    assert vote(other, tid, "a").status_code == 201
    with campaign_app.app_context():
        assert db.session.scalar(select(func.count(Feedback.id))) == 2


def test_a_fixed_pair_is_used_in_random_slots(campaign_app, raters, queued):
    cid = make_campaign(campaign_app, items=12, overlap=1, pair=["beta", "alpha"])
    for client in raters:
        for _ in range(4):
            finish_pair(campaign_app, (handed := next_item(client, cid))["turn"]["id"])
            assert vote(client, handed["turn"]["id"]).status_code == 201
    with campaign_app.app_context():
        rows = db.session.execute(select(Response.turn_id, Response.slot, Response.endpoint_name))
        by_turn: dict[str, dict[str, str]] = {}
        for turn_id, slot, name in rows:
            by_turn.setdefault(turn_id, {})[slot] = name
    assert len(by_turn) == 12
    assert all(set(slots.values()) == {"alpha", "beta"} for slots in by_turn.values())
    in_a = {slots["a"] for slots in by_turn.values()}
    assert in_a == {"alpha", "beta"}  # 12 coin tosses: both seen (1 in 2,048 to fail)


def test_a_campaign_turn_cannot_be_cancelled(campaign_app, client, queued):
    tid = next_item(client, make_campaign(campaign_app))["turn"]["id"]
    assert_error(client.post(f"/api/turns/{tid}/cancel", json={}), 409, "shared_turn")


def test_a_chat_turn_still_takes_one_vote(campaign_app, client, queued):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish_pair(campaign_app, tid)
    assert vote(client, tid, "a").status_code == 201
    assert_error(vote(client, tid, "b"), 409, "already_rated")


def test_unknown_closed_and_malformed_campaigns(campaign_app, client, queued):
    assert_error(client.post(f"/api/campaigns/{UNKNOWN_ID}/next", json={}), 404, "not_found")
    assert_error(client.post("/api/campaigns/" + "x" * 65 + "/next", json={}), 404)
    cid = make_campaign(campaign_app)
    with campaign_app.app_context():
        db.session.get(Campaign, cid).closed_at = db.func.now()
        db.session.commit()
    assert_error(client.post(f"/api/campaigns/{cid}/next", json={}), 409, "campaign_closed")
    assert_error(
        client.post(f"/api/campaigns/{cid}/next", data="[", content_type="application/json"),
        400,
    )


@pytest.mark.settings(AUTH_MODE="invite")
def test_named_modes_need_a_signed_in_rater(campaign_app, client, queued):
    cid = make_campaign(campaign_app)
    assert_error(client.get("/api/campaigns"), 401, "unauthorized")
    assert_error(client.post(f"/api/campaigns/{cid}/next", json={}), 401, "unauthorized")


def test_agreement_per_rater_feeds_from_campaign_votes(campaign_app, raters, queued):
    cid = make_campaign(campaign_app, items=2, overlap=3)
    choices = {0: ["a", "a"], 1: ["a", "b"], 2: ["a", "a"]}  # rater -> choice per item
    for index, client in enumerate(raters):
        for _ in range(2):
            handed = next_item(client, cid)
            finish_pair(campaign_app, handed["turn"]["id"])
            position = handed["item"]["position"] - 1
            assert vote(client, handed["turn"]["id"], choices[index][position]).status_code == 201
    with campaign_app.app_context():
        agreement = rater_agreement(db.session, cid)
        ids = [r for (r,) in db.session.execute(select(Assignment.rater_id).distinct())]
        owners = db.session.scalars(select(Conversation.rater_id).distinct()).all()
    assert owners == ["campaigns"] and len(ids) == 3
    # Item 1: all a. Item 2: a, b, a. Rater 1 agrees on 2 of 4 pairs, the others on 3 of 4.
    assert sorted(agreement.values()) == [0.5, 0.75, 0.75]
