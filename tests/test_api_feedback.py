"""The HTTP API's feedback route: which votes are refused, and a vote is given once.

In-process (`client`: no worker, so responses stay `streaming` unless a test finishes them
in the database).
"""

from __future__ import annotations

import pytest

from app.models import ERROR, STREAMING
from tests.api_helpers import (
    assert_error,
    feedback_count,
    finish,
    get_turn,
    new_conversation,
    send,
    statuses,
)


def test_an_invalid_choice_is_422(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "one")
    finish(app, tid, "b", "two")
    for choice in ["c", "", "A", "left", "both bad", 1, True, None, ["a"], {"a": 1}]:
        response = client.post(f"/api/turns/{tid}/feedback", json={"choice": choice})
        error = assert_error(response, 422, case=choice)
        assert "choice" in error["message"], choice
    assert feedback_count(app) == 0
    assert get_turn(client, cid, tid)["feedback"] is None


def test_a_missing_choice_is_422(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "one")
    finish(app, tid, "b", "two")
    assert_error(client.post(f"/api/turns/{tid}/feedback", json={"reason": "why"}), 422)
    assert_error(client.post(f"/api/turns/{tid}/feedback"), 422)
    assert feedback_count(app) == 0


def test_a_reason_that_is_too_long_or_not_text_is_refused(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "one")
    finish(app, tid, "b", "two")
    limit = app.config["MAX_REASON_CHARS"]
    long_reason = {"choice": "a", "reason": "r" * (limit + 1)}
    assert_error(client.post(f"/api/turns/{tid}/feedback", json=long_reason), 413)
    assert_error(client.post(f"/api/turns/{tid}/feedback", json={"choice": "a", "reason": 3}), 422)
    assert feedback_count(app) == 0


def test_feedback_on_an_unpaired_turn_is_409(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="single")["id"]
    finish(app, tid, "a", "the only answer")
    error = assert_error(client.post(f"/api/turns/{tid}/feedback", json={"choice": "a"}), 409)
    assert error["code"] == "not_paired"
    assert feedback_count(app) == 0
    assert get_turn(client, cid, tid)["feedback"] is None


def test_feedback_while_responses_are_streaming_is_409(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    assert statuses(client, cid, tid) == {"a": STREAMING, "b": STREAMING}
    assert_error(client.post(f"/api/turns/{tid}/feedback", json={"choice": "a"}), 409)
    finish(app, tid, "a", "one")  # one finished is not enough
    error = assert_error(client.post(f"/api/turns/{tid}/feedback", json={"choice": "b"}), 409)
    assert error["code"] == "not_finished"
    assert feedback_count(app) == 0
    assert get_turn(client, cid, tid)["feedback"] is None


@pytest.mark.parametrize("status", [ERROR, "cancelled"])
def test_feedback_on_a_failed_or_cancelled_response_is_409(app, client, status):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "one")
    finish(app, tid, "b", "", status=status)
    assert_error(client.post(f"/api/turns/{tid}/feedback", json={"choice": "a"}), 409)
    assert feedback_count(app) == 0


def test_feedback_once_then_409_and_the_first_vote_stays(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "one")
    finish(app, tid, "b", "two")
    first = client.post(f"/api/turns/{tid}/feedback", json={"choice": "tie", "reason": "same"})
    assert first.status_code == 201
    assert first.get_json()["choice"] == "tie"
    second = client.post(f"/api/turns/{tid}/feedback", json={"choice": "b"})
    assert assert_error(second, 409)["code"] == "already_rated"
    assert get_turn(client, cid, tid)["feedback"] | {"created_at": None} == {
        "choice": "tie",
        "reason": "same",
        "tags": [],
        "created_at": None,
    }
    assert feedback_count(app) == 1
