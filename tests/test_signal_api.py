"""More signal per turn, through the HTTP API: thumbs, edits, tags, a vote explained later,
skips. In-process (`client`: no worker; tests finish responses in the database)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from app.chat.prompt import build_context
from app.extensions import db
from app.models import ERROR, Conversation, Edit, Feedback, Rating, Skip
from tests.api_helpers import UNKNOWN_ID, assert_error, finish, get_turn, new_conversation, send


def _pair(app, client, a: str = "answer A", b: str = "answer B") -> tuple[str, str, dict]:
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", a)
    finish(app, tid, "b", b)
    return cid, tid, {r["slot"]: r["id"] for r in get_turn(client, cid, tid)["responses"]}


def _single(app, client, text: str = "the answer") -> tuple[str, str, str]:
    cid = new_conversation(client)
    tid = send(client, cid, mode="single")["id"]
    finish(app, tid, "a", text)
    return cid, tid, get_turn(client, cid, tid)["responses"][0]["id"]


def _count(app, model) -> int:
    with app.app_context():
        return len(db.session.scalars(select(model)).all())


def test_every_response_carries_its_id(app, client):
    _, _, ids = _pair(app, client)
    assert len(set(ids.values())) == 2 and all(len(i) == 32 for i in ids.values())


def test_thumbs_on_a_single_answer_is_stored_once_and_shown(app, client):
    cid, tid, rid = _single(app, client)
    body = {"rating": "down", "tags": ["accurate", "clear"], "reason": "too vague"}
    first = client.post(f"/api/responses/{rid}/rating", json=body)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json() | {"created_at": None} == {
        "response_id": rid,
        "rating": "down",
        "tags": ["accurate", "clear"],
        "reason": "too vague",
        "created_at": None,
    }
    again = client.post(f"/api/responses/{rid}/rating", json={"rating": "up"})
    assert assert_error(again, 409)["code"] == "already_rated"
    shown = get_turn(client, cid, tid)["responses"][0]["rating"]
    assert shown["rating"] == "down" and shown["tags"] == ["accurate", "clear"]
    assert _count(app, Rating) == 1


def test_thumbs_on_a_pair_before_the_vote_name_no_model(app, client):
    cid, tid, ids = _pair(app, client)
    for slot, rating in (("a", "up"), ("b", "down")):
        answer = client.post(f"/api/responses/{ids[slot]}/rating", json={"rating": rating})
        assert answer.status_code == 201
        text = answer.get_data(as_text=True)
        assert not any(name in text for name in ("alpha", "beta", "endpoint", "model"))
    turn = get_turn(client, cid, tid)
    assert [r["rating"]["rating"] for r in turn["responses"]] == ["up", "down"]
    assert all("endpoint" not in r and "model" not in r for r in turn["responses"])
    # and the pair can still be voted on
    assert client.post(f"/api/turns/{tid}/feedback", json={"choice": "a"}).status_code == 201


@pytest.mark.parametrize("status", ["streaming", ERROR, "cancelled"])
def test_only_a_finished_answer_can_be_rated_or_edited(app, client, status):
    cid = new_conversation(client)
    tid = send(client, cid, mode="single")["id"]
    if status != "streaming":
        finish(app, tid, "a", "partial", status=status)
    rid = get_turn(client, cid, tid)["responses"][0]["id"]
    rated = client.post(f"/api/responses/{rid}/rating", json={"rating": "up"})
    assert assert_error(rated, 409)["code"] == "not_finished"
    edited = client.post(f"/api/responses/{rid}/edit", json={"content": "better"})
    assert assert_error(edited, 409)["code"] == "not_finished"
    assert _count(app, Rating) == _count(app, Edit) == 0


def test_bad_ratings_tags_and_reasons_are_refused(app, client):
    _, _, rid = _single(app, client)
    for rating in ["", "UP", "meh", 1, None, ["up"]]:
        error = assert_error(
            client.post(f"/api/responses/{rid}/rating", json={"rating": rating}), 422, case=rating
        )
        assert error["code"] == "invalid_rating"
    for tags in ["accurate", ["nice"], [1], {"accurate": True}, ["accurate", None]]:
        answer = client.post(f"/api/responses/{rid}/rating", json={"rating": "up", "tags": tags})
        assert_error(answer, 422, "invalid_tags", case=tags)
    long_reason = "r" * (app.config["MAX_REASON_CHARS"] + 1)
    answer = client.post(
        f"/api/responses/{rid}/rating", json={"rating": "up", "reason": long_reason}
    )
    assert_error(answer, 413)
    assert _count(app, Rating) == 0


def test_others_responses_do_not_exist(app, client, other):
    _, tid, rid = _single(app, client)
    for path, body in (
        (f"/api/responses/{rid}/rating", {"rating": "up"}),
        (f"/api/responses/{rid}/edit", {"content": "mine now"}),
        (f"/api/responses/{UNKNOWN_ID}/rating", {"rating": "up"}),
        (f"/api/responses/{UNKNOWN_ID}/edit", {"content": "x"}),
        (f"/api/turns/{tid}/skip", {}),
        (f"/api/turns/{tid}/retry", {}),
    ):
        assert_error(other.post(path, json=body), 404, "not_found", case=path)
    assert_error(other.patch(f"/api/turns/{tid}/feedback", json={"reason": "x"}), 404)
    assert _count(app, Rating) == _count(app, Edit) == _count(app, Skip) == 0


def test_an_edit_continues_the_conversation(app, client):
    cid, tid, rid = _single(app, client, "Paris is in Germany.")
    first = client.post(f"/api/responses/{rid}/edit", json={"content": "Paris is in Spain."})
    second = client.post(f"/api/responses/{rid}/edit", json={"content": "Paris is in France."})
    assert first.status_code == second.status_code == 201
    assert second.get_json()["content"] == "Paris is in France."
    assert set(second.get_json()) == {"id", "content", "created_at", "response_id"}
    assert get_turn(client, cid, tid)["responses"][0]["edit"]["content"] == "Paris is in France."
    assert get_turn(client, cid, tid)["responses"][0]["content"] == "Paris is in Germany."
    with app.app_context():
        conversation = db.session.get(Conversation, cid)
        context = build_context(conversation, "And Rome?")
    assert context[1] == {"role": "assistant", "content": "Paris is in France."}


def test_an_edit_of_the_answer_not_chosen_does_not_continue(app, client):
    cid, tid, ids = _pair(app, client, "left", "right")
    client.post(f"/api/turns/{tid}/feedback", json={"choice": "b"})
    assert (
        client.post(f"/api/responses/{ids['a']}/edit", json={"content": "left+"}).status_code == 201
    )
    with app.app_context():
        context = build_context(db.session.get(Conversation, cid), "next")
    assert context[1]["content"] == "right"


def test_an_empty_unchanged_or_too_long_edit_is_refused(app, client):
    _, _, rid = _single(app, client, "same")
    assert_error(client.post(f"/api/responses/{rid}/edit", json={"content": "  "}), 422)
    assert_error(client.post(f"/api/responses/{rid}/edit", json={}), 422)
    assert_error(client.post(f"/api/responses/{rid}/edit", json={"content": "same"}), 422)
    long = "x" * (app.config["MAX_EDIT_CHARS"] + 1)
    assert_error(client.post(f"/api/responses/{rid}/edit", json={"content": long}), 413)
    assert _count(app, Edit) == 0


def test_a_vote_carries_tags_and_refuses_unknown_ones(app, client):
    cid, tid, _ = _pair(app, client)
    bad = client.post(f"/api/turns/{tid}/feedback", json={"choice": "a", "tags": ["vibes"]})
    assert_error(bad, 422, "invalid_tags")
    assert get_turn(client, cid, tid)["feedback"] is None
    vote = client.post(f"/api/turns/{tid}/feedback", json={"choice": "a", "tags": ["concise"]})
    assert vote.status_code == 201 and vote.get_json()["tags"] == ["concise"]
    assert get_turn(client, cid, tid)["feedback"]["tags"] == ["concise"]


@pytest.mark.settings(REASON_TAGS=["kind", "correct"])
def test_the_tags_come_from_reason_tags(app, client):
    _, tid, _ = _pair(app, client)
    assert_error(
        client.post(f"/api/turns/{tid}/feedback", json={"choice": "a", "tags": ["clear"]}), 422
    )
    vote = client.post(f"/api/turns/{tid}/feedback", json={"choice": "a", "tags": ["correct"]})
    assert vote.status_code == 201


def test_a_vote_is_explained_after_it_is_cast(app, client):
    cid, tid, _ = _pair(app, client)
    none_yet = client.patch(f"/api/turns/{tid}/feedback", json={"reason": "early"})
    assert assert_error(none_yet, 409)["code"] == "not_rated"
    client.post(f"/api/turns/{tid}/feedback", json={"choice": "b"})
    explained = client.patch(
        f"/api/turns/{tid}/feedback", json={"reason": "B is right", "tags": ["accurate"]}
    )
    assert explained.status_code == 200, explained.get_data(as_text=True)
    body = explained.get_json()
    assert (body["choice"], body["reason"], body["tags"]) == ("b", "B is right", ["accurate"])
    assert {r["slot"] for r in body["responses"]} == {"a", "b"}  # the reveal, as with the vote
    # a field left out stays; a null reason clears it
    client.patch(f"/api/turns/{tid}/feedback", json={"tags": ["clear", "safe"]})
    assert get_turn(client, cid, tid)["feedback"]["reason"] == "B is right"
    client.patch(f"/api/turns/{tid}/feedback", json={"reason": None})
    stored = get_turn(client, cid, tid)["feedback"]
    assert (stored["choice"], stored["reason"], stored["tags"]) == ("b", None, ["clear", "safe"])
    assert_error(client.patch(f"/api/turns/{tid}/feedback", json={"tags": ["x"]}), 422)


def test_a_vote_cannot_be_explained_after_the_window(app, client):
    _, tid, _ = _pair(app, client)
    client.post(f"/api/turns/{tid}/feedback", json={"choice": "a"})
    with app.app_context():
        vote = db.session.scalars(select(Feedback)).one()
        vote.created_at -= timedelta(seconds=app.config["FEEDBACK_EDIT_SECONDS"] + 1)
        db.session.commit()
    late = client.patch(f"/api/turns/{tid}/feedback", json={"reason": "late"})
    assert assert_error(late, 409)["code"] == "edit_window_closed"


def test_a_pair_is_skipped_once_and_a_single_turn_not_at_all(app, client):
    cid, tid, _ = _pair(app, client)
    skipped = client.post(f"/api/turns/{tid}/skip", json={"reason": "cannot judge code"})
    assert skipped.status_code == 201
    assert skipped.get_json()["reason"] == "cannot judge code"
    assert get_turn(client, cid, tid)["skip"]["reason"] == "cannot judge code"
    assert get_turn(client, cid, tid)["feedback"] is None
    assert assert_error(client.post(f"/api/turns/{tid}/skip"), 409)["code"] == "already_skipped"
    _, single, _ = _single(app, client)
    assert assert_error(client.post(f"/api/turns/{single}/skip"), 409)["code"] == "not_paired"
    assert _count(app, Skip) == 1


def test_a_failed_pair_can_be_skipped_but_a_voted_one_cannot(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "fine")
    finish(app, tid, "b", "", status=ERROR)
    assert client.post(f"/api/turns/{tid}/skip", json={}).status_code == 201
    _, voted, _ = _pair(app, client)
    client.post(f"/api/turns/{voted}/feedback", json={"choice": "tie"})
    assert assert_error(client.post(f"/api/turns/{voted}/skip"), 409)["code"] == "already_rated"


def test_an_error_is_shown_in_plain_words_without_the_endpoint(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "fine")
    with app.app_context():
        from app.models import Response

        response = db.session.scalars(
            select(Response).where(Response.turn_id == tid, Response.slot == "b")
        ).one()
        response.status = ERROR
        response.error = (
            f"{response.endpoint_name}: the endpoint answered HTTP 500: fake failure 500"
        )
        db.session.commit()
    text = client.get(f"/api/conversations/{cid}").get_data(as_text=True)
    assert "alpha" not in text and "beta" not in text and "HTTP 500" not in text
    assert (
        get_turn(client, cid, tid)["responses"][1]["error"] == "The model answered with an error."
    )
