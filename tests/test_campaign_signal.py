"""Thumbs and corrections on a campaign item's answers: the raters it was handed to may give
them (the turn is not theirs, but shared with them), anyone else gets the 404 of an unknown
answer; `next` names the answers' ids for that."""

from __future__ import annotations

from tests.api_helpers import assert_error
from tests.campaign_helpers import finish_pair, make_campaign, next_item


def test_next_names_the_answers_ids(campaign_app, client, queued):
    cid = make_campaign(campaign_app, items=1)
    turn = next_item(client, cid)["turn"]
    assert [r["slot"] for r in turn["responses"]] == ["a", "b"]
    assert sorted(r["id"] for r in turn["responses"]) == sorted(queued)  # the queued answers


def test_a_handed_rater_rates_and_corrects_a_campaign_answer(campaign_app, client, queued):
    cid = make_campaign(campaign_app, items=1, overlap=2)
    other = campaign_app.test_client()
    turn = next_item(client, cid)["turn"]
    finish_pair(campaign_app, turn["id"])
    rid = {r["slot"]: r["id"] for r in turn["responses"]}

    rated = client.post(f"/api/responses/{rid['a']}/rating", json={"rating": "up"})
    assert rated.status_code == 201, rated.get_data(as_text=True)
    assert rated.get_json()["rating"] == "up"
    assert_error(client.post(f"/api/responses/{rid['a']}/rating", json={"rating": "down"}), 409)
    edited = client.post(f"/api/responses/{rid['b']}/edit", json={"content": "A better B."})
    assert edited.status_code == 201, edited.get_data(as_text=True)

    # Not handed the item (yet): as if the answer did not exist.
    assert_error(other.post(f"/api/responses/{rid['a']}/rating", json={"rating": "up"}), 404)
    assert_error(other.post(f"/api/responses/{rid['b']}/edit", json={"content": "x"}), 404)
    # Handed it (the second place): the same answers, thumbs of their own.
    assert next_item(other, cid)["turn"]["id"] == turn["id"]
    again = other.post(f"/api/responses/{rid['a']}/rating", json={"rating": "down"})
    assert again.status_code == 201, again.get_data(as_text=True)
