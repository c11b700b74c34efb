"""The HTTP API's conversation housekeeping: rename (PATCH), delete (DELETE) and search
(`GET /api/conversations?q=`), each for the rater's own conversations only.

In-process (`client`: no worker; tests finish responses in the database).
"""

from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import Edit, Feedback, Rating, Response, Skip, Turn
from tests.api_helpers import assert_error, finish, new_conversation, send


def titles(client, q: str | None = None) -> list[str]:
    response = client.get("/api/conversations", query_string={"q": q} if q is not None else None)
    assert response.status_code == 200, response.get_data(as_text=True)
    return [c["title"] for c in response.get_json()["conversations"]]


def test_rename_gives_a_conversation_a_new_one_line_title(client, other, queued):
    cid = new_conversation(client)
    send(client, cid, "what is a monad")
    response = client.patch(f"/api/conversations/{cid}", json={"title": "  Monads,\n explained "})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert (body["id"], body["title"]) == (cid, "Monads, explained")
    assert set(body) == {"id", "title", "created_at"}
    assert titles(client) == ["Monads, explained"]
    assert client.get(f"/api/conversations/{cid}").get_json()["title"] == "Monads, explained"

    for bad, status, code in (
        ({}, 422, "invalid_title"),
        ({"title": "   "}, 422, "invalid_title"),
        ({"title": 7}, 422, "invalid_title"),
        ({"title": "x" * 201}, 413, "title_too_long"),
        ({"title": "a\x00b"}, 422, "invalid_title"),
    ):
        assert_error(client.patch(f"/api/conversations/{cid}", json=bad), status, code, bad)
    assert titles(client) == ["Monads, explained"]
    # Another rater's conversation does not exist for them.
    assert_error(other.patch(f"/api/conversations/{cid}", json={"title": "mine"}), 404)


def test_delete_removes_the_conversation_with_its_votes_ratings_edits_and_skips(
    app, client, other, queued
):
    keep = new_conversation(client)
    send(client, keep, "keep me")
    cid = new_conversation(client)
    voted = send(client, cid, "compare", mode="pair")["id"]
    skipped = send(client, cid, "compare again", mode="pair")["id"]
    for tid in (voted, skipped):
        for slot in "ab":
            finish(app, tid, slot, f"answer {slot}")
    assert client.post(f"/api/turns/{voted}/feedback", json={"choice": "a"}).status_code == 201
    assert client.post(f"/api/turns/{skipped}/skip", json={}).status_code == 201
    with app.app_context():
        rid = db.session.scalars(select(Response.id).where(Response.turn_id == voted)).first()
    assert client.post(f"/api/responses/{rid}/rating", json={"rating": "up"}).status_code == 201
    assert client.post(f"/api/responses/{rid}/edit", json={"content": "better"}).status_code == 201

    assert_error(other.delete(f"/api/conversations/{cid}"), 404)
    response = client.delete(f"/api/conversations/{cid}")
    assert response.status_code == 204 and response.get_data() == b""
    assert_error(client.get(f"/api/conversations/{cid}"), 404)
    assert_error(client.delete(f"/api/conversations/{cid}"), 404)
    assert [c["id"] for c in client.get("/api/conversations").get_json()["conversations"]] == [keep]
    with app.app_context():
        for model in (Turn, Response, Feedback, Rating, Edit, Skip):
            rows = db.session.scalar(select(func.count()).select_from(model))
            expected = {Turn: 1, Response: 1}.get(model, 0)  # the kept conversation's
            assert rows == expected, model.__name__


def test_a_conversation_with_an_answer_still_streaming_is_not_deleted(app, client, queued):
    cid = new_conversation(client)
    tid = send(client, cid, "still going")["id"]
    assert_error(client.delete(f"/api/conversations/{cid}"), 409, "conversation_busy")
    finish(app, tid, "a", "done now")
    assert client.delete(f"/api/conversations/{cid}").status_code == 204


def test_search_finds_conversations_by_title_message_or_answer(app, client, other, queued):
    by_message = new_conversation(client)
    send(client, by_message, "Tell me about Zebras")
    by_answer = new_conversation(client)
    tid = send(client, by_answer, "an animal with stripes?")["id"]
    finish(app, tid, "a", "The zebra, of course.")
    by_title = new_conversation(client)
    client.patch(f"/api/conversations/{by_title}", json={"title": "zebra notes"})
    neither = new_conversation(client)
    send(client, neither, "100% of 5_000")

    found = titles(client, "ZEBRA")
    assert found == ["zebra notes", "an animal with stripes?", "Tell me about Zebras"]
    assert titles(client, "stripes") == ["an animal with stripes?"]
    assert titles(client, "%") == ["100% of 5_000"]  # LIKE wildcards are taken literally
    assert titles(client, "5_0") == ["100% of 5_000"]
    assert titles(client, "_") == ["100% of 5_000"]
    assert titles(client, "nothing like it") == []
    assert len(titles(client, "  ")) == 4  # blank: no filter
    assert titles(other, "zebra") == []  # only one's own
    too_long = client.get("/api/conversations", query_string={"q": "z" * 201})
    assert_error(too_long, 413, "q_too_long")
    assert_error(client.get("/api/conversations", query_string={"q": "a\x00b"}), 422, "invalid_q")
