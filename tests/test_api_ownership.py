"""The HTTP API: another browser's conversations and turns answer exactly like unknown ones.

In-process (`client`: no worker, so responses stay `streaming` unless a test finishes them
in the database).
"""

from __future__ import annotations

from app.models import STREAMING
from tests.api_helpers import (
    UNKNOWN_ID,
    assert_error,
    feedback_count,
    get_conversation,
    new_conversation,
    send,
)

TURN_ROUTES = [
    ("reroll", {}),
    ("feedback", {"choice": "a"}),
    ("cancel", {}),
]


def conversation_calls(client, cid: str) -> list:
    return [
        client.get(f"/api/conversations/{cid}"),
        client.post(f"/api/conversations/{cid}/turns", json={"content": "hi", "mode": "pair"}),
    ]


def turn_calls(client, tid: str) -> list:
    return [client.post(f"/api/turns/{tid}/{action}", json=body) for action, body in TURN_ROUTES]


def test_unknown_conversation_and_turn_are_404_on_every_route(client):
    cid = new_conversation(client)  # the client exists and owns something else
    send(client, cid)
    for bad_id in (UNKNOWN_ID, "nope", "x" * 300, "%20", UNKNOWN_ID.replace("0", "f")):
        for response in conversation_calls(client, bad_id) + turn_calls(client, bad_id):
            assert_error(response, 404, "not_found", case=(response.request.path, bad_id))


def test_foreign_conversation_and_turn_answer_exactly_like_unknown_ones(app, client, other):
    cid = new_conversation(client, system_prompt="mine")
    tid = send(client, cid, "a private message", mode="pair")["id"]
    new_conversation(other)  # the other browser has its own cookie and data

    for foreign, unknown in zip(
        conversation_calls(other, cid), conversation_calls(other, UNKNOWN_ID), strict=True
    ):
        assert_error(foreign, 404, "not_found")
        assert (foreign.status_code, foreign.get_json()) == (
            unknown.status_code,
            unknown.get_json(),
        )
    for foreign, unknown in zip(turn_calls(other, tid), turn_calls(other, UNKNOWN_ID), strict=True):
        assert_error(foreign, 404, "not_found")
        assert (foreign.status_code, foreign.get_json()) == (
            unknown.status_code,
            unknown.get_json(),
        )

    # ... and none of those calls changed anything of the owner's.
    turns = get_conversation(client, cid)["turns"]
    assert [t["id"] for t in turns] == [tid]
    assert turns[0]["trigger"] == "requested"
    assert {r["status"] for r in turns[0]["responses"]} == {STREAMING}
    assert turns[0]["feedback"] is None
    assert feedback_count(app) == 0
    assert cid not in [c["id"] for c in other.get("/api/conversations").get_json()["conversations"]]


def test_a_browser_without_cookie_sees_nothing(app, client):
    cid = new_conversation(client)
    tid = send(client, cid)["id"]
    stranger = app.test_client()
    assert_error(stranger.get(f"/api/conversations/{cid}"), 404, "not_found")
    assert_error(stranger.post(f"/api/turns/{tid}/cancel", json={}), 404, "not_found")
    assert stranger.get("/api/conversations").get_json() == {"conversations": []}
