"""The HTTP API against its contract (docs: /work/shared/design/API.md).

The first part runs in-process (`client`: no worker, so responses stay `streaming` unless a
test finishes them in the database). The last part runs against the real stack (gunicorn and
a Celery worker generating from the fake model server).
"""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import event, select

from app import create_app
from app.chat.ownership import find_turn
from app.extensions import db, redis_client
from app.models import DONE, ERROR, STREAMING, Conversation, Feedback, Response, Turn
from app.streaming.protocol import buffered_events
from tests.fake_llm import expected_text

UNKNOWN_ID = "0" * 32
UNUSED_REDIS = "redis://127.0.0.1:1/0"  # port 1: nothing listens there
TRACEBACK_MARKERS = ("Traceback", 'File "', "RuntimeError", "line ")


# --------------------------------------------------------------------------- helpers


def assert_error(response, status: int, code: str | None = None, case: object = None) -> dict:
    """The response is a JSON error of the contract's shape with `status` (and `code`)."""
    where = f"[case {case!r}] " if case is not None else ""
    text = response.get_data(as_text=True)
    assert response.status_code == status, where + text
    assert response.mimetype == "application/json", where + text
    body = response.get_json()
    assert set(body) == {"error"}, where + text
    assert set(body["error"]) == {"code", "message"}, where + text
    error = body["error"]
    assert isinstance(error["code"], str) and error["code"], where + text
    assert error["code"].replace("_", "").isalnum(), where + text
    if code is not None:
        assert error["code"] == code, where + text
    message = error["message"]
    assert isinstance(message, str), where + text
    assert len(message.split()) >= 2, where + text  # a sentence, not a bare code
    assert "<" not in message, where + text
    assert not any(m in message for m in TRACEBACK_MARKERS), where + text
    return error


def new_conversation(client, **body) -> str:
    response = client.post("/api/conversations", json=body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def send(client, cid: str, content: str = "hello there", mode: str = "single") -> dict:
    response = client.post(
        f"/api/conversations/{cid}/turns", json={"content": content, "mode": mode}
    )
    assert response.status_code == 202, response.get_data(as_text=True)
    return response.get_json()


def get_conversation(client, cid: str) -> dict:
    response = client.get(f"/api/conversations/{cid}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def get_turn(client, cid: str, tid: str) -> dict:
    return next(t for t in get_conversation(client, cid)["turns"] if t["id"] == tid)


def finish(app, tid: str, slot: str, content: str = "", status: str = DONE) -> None:
    """Play the worker: end one response in the database."""
    with app.app_context():
        response = db.session.scalars(
            select(Response).where(Response.turn_id == tid, Response.slot == slot)
        ).one()
        response.status = status
        response.content = content
        response.finish_reason = "stop" if status == DONE else None
        response.error = "the endpoint failed" if status == ERROR else None
        db.session.commit()


def stored_turns(app, cid: str) -> list[Turn]:
    with app.app_context():
        return list(db.session.scalars(select(Turn).where(Turn.conversation_id == cid)).all())


def feedback_count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Feedback)).all())


def statuses(client, cid: str, tid: str) -> dict[str, str]:
    return {r["slot"]: r["status"] for r in get_turn(client, cid, tid)["responses"]}


@pytest.fixture
def other(app):
    """A second anonymous browser with its own cookie."""
    return app.test_client()


# --------------------------------------------------------------------------- 404


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


# --------------------------------------------------------------------------- bodies


@pytest.mark.parametrize(
    ("path_kind", "payload"),
    [("create", b"hello"), ("turn", b'{"content": "hi"}'), ("feedback", b'{"choice": "a"}')],
)
def test_a_body_that_is_not_json_is_415(app, client, path_kind, payload):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    path = {
        "create": "/api/conversations",
        "turn": f"/api/conversations/{cid}/turns",
        "feedback": f"/api/turns/{tid}/feedback",
    }[path_kind]
    response = client.post(path, data=payload, content_type="text/plain")
    assert_error(response, 415)
    assert len(stored_turns(app, cid)) == 1
    assert feedback_count(app) == 0


def test_a_form_post_is_415(client):
    response = client.post("/api/conversations", data={"system_prompt": "x"})
    assert_error(response, 415)


MALFORMED = [
    b'{"content": ',
    b"{'content': 'single quotes'}",
    b'{"content": "hi",}',
    b'{"content": "\xff\xfe"}',  # not UTF-8
    b"{" + b'"a":{' * 50_000,
    b"[" * 100_000,  # deeper than the parser can follow
]


def test_malformed_json_is_400(app, client):
    cid = new_conversation(client)
    for payload in MALFORMED:
        response = client.post(
            f"/api/conversations/{cid}/turns", data=payload, content_type="application/json"
        )
        assert_error(response, 400, case=payload[:30])
    assert stored_turns(app, cid) == []


def test_json_that_is_not_an_object_is_400(app, client):
    cid = new_conversation(client)
    for payload in ["[]", '["hi"]', '[{"content": "hi"}]', '"hi"', "42", "null", "true"]:
        response = client.post(
            f"/api/conversations/{cid}/turns", data=payload, content_type="application/json"
        )
        assert_error(response, 400, case=payload)
        create = client.post("/api/conversations", data=payload, content_type="application/json")
        assert_error(create, 400, case=payload)
    assert stored_turns(app, cid) == []
    assert len(client.get("/api/conversations").get_json()["conversations"]) == 1


def test_missing_empty_or_non_string_content_is_422(app, client):
    cid = new_conversation(client)
    bodies = [
        {},
        {"mode": "single"},
        {"content": ""},
        {"content": "   \n\t "},
        {"content": None},
        {"content": 42},
        {"content": ["hi"]},
        {"content": {"text": "hi"}},
        {"content": True},
    ]
    for body in bodies:
        response = client.post(f"/api/conversations/{cid}/turns", json=body)
        error = assert_error(response, 422, case=body)
        assert "content" in error["message"], body
    assert stored_turns(app, cid) == []


def test_an_empty_turn_body_is_422_not_a_crash(app, client):
    cid = new_conversation(client)
    assert_error(client.post(f"/api/conversations/{cid}/turns"), 422)
    assert stored_turns(app, cid) == []


def test_an_invalid_mode_is_422(app, client, queued):
    cid = new_conversation(client)
    for mode in ["both", "", "PAIR", "Single", 1, True, ["pair"], {"pair": 1}, None]:
        body = {"content": "hi", "mode": mode}
        response = client.post(f"/api/conversations/{cid}/turns", json=body)
        error = assert_error(response, 422, case=mode)
        assert "mode" in error["message"], mode
    assert stored_turns(app, cid) == []
    assert queued == []


def test_content_longer_than_the_limit_is_413_and_nothing_is_stored(app, client, queued):
    limit = app.config["MAX_MESSAGE_CHARS"]
    cid = new_conversation(client)
    error = assert_error(
        client.post(f"/api/conversations/{cid}/turns", json={"content": "é" * (limit + 1)}), 413
    )
    assert f"{limit:,}" in error["message"]
    conversation = get_conversation(client, cid)
    assert conversation["turns"] == []
    assert conversation["title"] == "New conversation"
    assert stored_turns(app, cid) == []
    assert queued == []
    # exactly at the limit is fine
    send(client, cid, "é" * limit)
    assert len(stored_turns(app, cid)) == 1


def test_a_system_prompt_longer_than_the_limit_is_413_and_nothing_is_stored(app, client):
    limit = app.config["MAX_SYSTEM_PROMPT_CHARS"]
    response = client.post("/api/conversations", json={"system_prompt": "s" * (limit + 1)})
    assert_error(response, 413)
    assert client.get("/api/conversations").get_json() == {"conversations": []}
    with app.app_context():
        assert db.session.scalars(select(Conversation)).all() == []


def test_a_non_string_system_prompt_is_422(client):
    assert_error(client.post("/api/conversations", json={"system_prompt": 5}), 422)
    assert client.get("/api/conversations").get_json() == {"conversations": []}


def test_a_body_larger_than_max_content_length_is_413_json(app, client, queued):
    cid = new_conversation(client)
    limit = app.config["MAX_CONTENT_LENGTH"]
    payload = json.dumps({"content": "x" * (limit + 10)})
    response = client.post(
        f"/api/conversations/{cid}/turns", data=payload, content_type="application/json"
    )
    error = assert_error(response, 413)
    assert f"{limit:,}" in error["message"]
    assert stored_turns(app, cid) == []
    assert queued == []
    big_create = client.post(
        "/api/conversations",
        data=json.dumps({"system_prompt": "x" * (limit + 10)}),
        content_type="application/json",
    )
    assert_error(big_create, 413)
    assert [c["id"] for c in client.get("/api/conversations").get_json()["conversations"]] == [cid]


# --------------------------------------------------------------------------- feedback


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
        "created_at": None,
    }
    assert feedback_count(app) == 1


# --------------------------------------------------------------------------- reroll, cancel


@pytest.mark.parametrize("status", [STREAMING, ERROR, "cancelled"])
def test_reroll_of_a_turn_that_is_not_finished_is_409(app, client, queued, status):
    cid = new_conversation(client)
    tid = send(client, cid, mode="single")["id"]
    if status != STREAMING:
        finish(app, tid, "a", "partial", status=status)
    queued.clear()
    error = assert_error(client.post(f"/api/turns/{tid}/reroll", json={}), 409)
    assert error["code"] == "not_finished"
    turn = get_turn(client, cid, tid)
    assert (turn["paired"], turn["trigger"], len(turn["responses"])) == (False, "single", 1)
    assert queued == []


def test_reroll_of_a_paired_turn_is_409(app, client, queued):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "one")
    finish(app, tid, "b", "two")
    queued.clear()
    error = assert_error(client.post(f"/api/turns/{tid}/reroll", json={}), 409)
    assert error["code"] == "already_paired"
    assert get_turn(client, cid, tid)["trigger"] == "requested"
    assert queued == []


def test_reroll_of_a_finished_single_turn_queues_slot_b_once(app, client, queued):
    cid = new_conversation(client)
    tid = send(client, cid, mode="single")["id"]
    finish(app, tid, "a", "the original answer")
    queued.clear()
    response = client.post(f"/api/turns/{tid}/reroll", json={})
    assert response.status_code == 202
    body = response.get_json()
    assert (body["id"], body["paired"], body["slots"]) == (tid, True, ["a", "b"])
    turn = get_turn(client, cid, tid)
    assert turn["trigger"] == "reroll" and turn["paired"] is True
    a, b = turn["responses"]
    assert (a["slot"], a["content"], a["status"]) == ("a", "the original answer", DONE)
    assert (b["slot"], b["content"], b["status"]) == ("b", "", STREAMING)
    with app.app_context():
        b_row = db.session.scalars(
            select(Response).where(Response.turn_id == tid, Response.slot == "b")
        ).one()
        a_row = db.session.scalars(
            select(Response).where(Response.turn_id == tid, Response.slot == "a")
        ).one()
        assert queued == [b_row.id]
        assert (b_row.endpoint_name, b_row.params) != (a_row.endpoint_name, a_row.params)
    assert_error(client.post(f"/api/turns/{tid}/reroll", json={}), 409)


def test_cancel_ends_streaming_slots_and_is_harmless_afterwards(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    response = client.post(f"/api/turns/{tid}/cancel", json={})
    assert response.status_code == 202
    assert sorted(response.get_json()["cancelled"]) == ["a", "b"]
    assert statuses(client, cid, tid) == {"a": "cancelled", "b": "cancelled"}
    with app.app_context():
        for slot in "ab":
            events = [json.loads(e) for e in buffered_events(redis_client.get(), tid, slot)]
            terminals = [e for e in events if e["type"] in ("done", "error", "cancelled")]
            assert terminals == [{"type": "cancelled", "slot": slot}]
            assert events[-1] == terminals[0]
    again = client.post(f"/api/turns/{tid}/cancel", json={})
    assert again.status_code == 202
    assert again.get_json()["cancelled"] == []
    assert_error(client.post(f"/api/turns/{tid}/feedback", json={"choice": "a"}), 409)


def test_cancel_leaves_finished_slots_alone(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, mode="pair")["id"]
    finish(app, tid, "a", "complete")
    response = client.post(f"/api/turns/{tid}/cancel")
    assert response.status_code == 202
    assert response.get_json()["cancelled"] == ["b"]
    turn = get_turn(client, cid, tid)
    assert [(r["status"], r["content"]) for r in turn["responses"]] == [
        (DONE, "complete"),
        ("cancelled", ""),
    ]


# --------------------------------------------------------------------------- routing, crashes


def test_an_unknown_api_path_is_404_json(client):
    for method, path in [
        ("GET", "/api/nope"),
        ("POST", "/api/nope"),
        ("GET", "/api/turns"),
        ("GET", "/api/conversations/x/turns/y/z"),
        ("DELETE", "/api/turns/abc/nothing"),
    ]:
        assert_error(client.open(path, method=method), 404, "not_found", case=(method, path))


def test_a_wrong_method_is_405_json_with_allow(client):
    for method, path, allowed in [
        ("DELETE", "/api/conversations", {"GET", "POST"}),
        ("PUT", "/api/conversations", {"GET", "POST"}),
        ("DELETE", f"/api/conversations/{UNKNOWN_ID}", {"GET"}),
        ("GET", f"/api/conversations/{UNKNOWN_ID}/turns", {"POST"}),
        ("GET", f"/api/turns/{UNKNOWN_ID}/feedback", {"POST"}),
        ("GET", f"/api/turns/{UNKNOWN_ID}/reroll", {"POST"}),
        ("PATCH", f"/api/turns/{UNKNOWN_ID}/cancel", {"POST"}),
    ]:
        response = client.open(path, method=method)
        assert_error(response, 405, "method_not_allowed", case=(method, path))
        allow = {m.strip() for m in response.headers.get("Allow", "").split(",")}
        assert allowed <= allow, (method, path, allow)


def test_an_unexpected_exception_is_500_json_without_traceback(app, client, monkeypatch):
    import app.web.api.conversations as routes

    secret = "kaboom /work/main/app/secret_internal.py password=hunter2"

    def explode(*args, **kwargs):
        raise RuntimeError(secret)

    cid = new_conversation(client)
    monkeypatch.setattr(routes, "conversation_detail", explode)
    monkeypatch.setattr(routes, "start_turn", explode)
    for response in (
        client.get(f"/api/conversations/{cid}"),
        client.post(f"/api/conversations/{cid}/turns", json={"content": "hi"}),
    ):
        error = assert_error(response, 500, "internal_error")
        text = response.get_data(as_text=True)
        assert "kaboom" not in text and "hunter2" not in text and "secret_internal" not in text
        assert error["message"]


# --------------------------------------------------------------------------- unavailable


def _app_with(app, **overrides):
    """Another app on the same database as `app`, with some settings replaced."""
    redis_url = overrides.pop("REDIS_URL", app.config["REDIS_URL"])
    settings = {
        "TESTING": True,
        "SECRET_KEY": app.config["SECRET_KEY"],
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": redis_url,
        "CELERY": {"broker_url": redis_url, "task_ignore_result": True},
        "MODEL_ENDPOINTS": app.config["MODEL_ENDPOINTS"],
        "INSTANCE_PATH": app.config["INSTANCE_PATH"],
        **overrides,
    }
    return create_app(settings)


def test_redis_unreachable_is_503_unavailable_and_leaves_no_waiting_slot(app):
    down = _app_with(app, REDIS_URL=UNUSED_REDIS)
    browser = down.test_client()
    cid = new_conversation(browser)  # the database alone is enough for this

    response = browser.post(f"/api/conversations/{cid}/turns", json={"content": "hi"})
    assert_error(response, 503, "unavailable")
    conversation = get_conversation(browser, cid)
    assert conversation["turns"] == []  # no slot waits for a generation nobody queued
    assert conversation["title"] == "New conversation"

    with down.app_context():  # turns made while Redis was up: one finished, one streaming
        conversation = db.session.get(Conversation, cid)
        for position in (0, 1):
            turn = Turn(position=position, content="x", trigger="single", context=[])
            turn.responses.append(
                Response(
                    slot="a",
                    endpoint_name="alpha",
                    model="alpha-model",
                    params={"temperature": 0.5},
                    status=DONE if position == 0 else STREAMING,
                    content="done" if position == 0 else "",
                )
            )
            conversation.turns.append(turn)
        db.session.commit()
        finished, streaming = (t.id for t in conversation.turns)

    assert_error(browser.post(f"/api/turns/{streaming}/cancel", json={}), 503, "unavailable")
    assert_error(browser.post(f"/api/turns/{finished}/reroll", json={}), 503, "unavailable")
    with down.app_context():  # (read from the database: Redis is down)
        kept = db.session.get(Turn, finished)
        assert (kept.trigger, [r.slot for r in kept.responses]) == ("single", ["a"])
        assert db.session.get(Turn, streaming).responses[0].status == STREAMING


def test_database_unreachable_is_503_unavailable(app):
    down = _app_with(app, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://duet:duet@127.0.0.1:1/duet")
    browser = down.test_client()
    assert_error(browser.get("/api/conversations"), 503, "unavailable")
    assert_error(browser.post("/api/conversations", json={}), 503, "unavailable")


def test_healthz_is_200_when_database_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_503_naming_redis_when_redis_is_down(app):
    response = _app_with(app, REDIS_URL=UNUSED_REDIS).test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] != "ok"
    assert body["database"] == "ok"
    assert body["redis"] != "ok" and "unreachable" in body["redis"]


def test_healthz_is_503_naming_the_database_when_it_is_down(app):
    down = _app_with(app, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://duet:duet@127.0.0.1:1/duet")
    response = down.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] != "ok"
    assert body["redis"] == "ok"
    assert body["database"] != "ok" and "unreachable" in body["database"]


# --------------------------------------------------------------------------- success shapes


def test_create_conversation_is_201_with_an_id(client):
    cases = [
        ({"json": {}}, None),
        ({"data": b""}, None),
        ({}, None),
        ({"data": b"", "content_type": "application/json"}, None),
        ({"json": {"system_prompt": "You are terse."}}, "You are terse."),
        ({"json": {"system_prompt": None}}, None),
    ]
    ids = []
    for kwargs, system_prompt in cases:
        response = client.post("/api/conversations", **kwargs)
        assert response.status_code == 201, (kwargs, response.get_data(as_text=True))
        body = response.get_json()
        assert isinstance(body["id"], str) and body["id"], kwargs
        detail = get_conversation(client, body["id"])
        assert (detail["id"], detail["turns"]) == (body["id"], []), kwargs
        assert detail["system_prompt"] == system_prompt, kwargs
        ids.append(body["id"])
    assert len(set(ids)) == len(ids)
    assert all(len(i) >= 32 for i in ids)  # unguessable


def test_sending_a_pair_reads_nothing_back_after_its_commit(app, client, queued, record_sql):
    """50 people sending at once is where the web process is busiest: the ids to enqueue and
    the answer come from what the request wrote, not from queries after the commit."""
    cid = new_conversation(client)
    with record_sql() as events:
        answer = client.post(
            f"/api/conversations/{cid}/turns", json={"mode": "pair", "content": "hi"}
        )
    assert answer.status_code == 202
    assert answer.get_json()["slots"] == ["a", "b"]
    assert "INSERT" in events and events[-1] == "COMMIT", events
    with app.app_context():
        stored = db.session.scalars(
            select(Response.id)
            .join(Turn)
            .where(Turn.id == answer.get_json()["id"])
            .order_by(Response.slot)
        ).all()
    assert queued == stored


def test_a_turn_is_read_with_its_owner_and_responses_in_one_query(app, client, queued, record_sql):
    """Each socket opened looks its turn up: one query, the owner checked on what it read."""
    cid = new_conversation(client)
    answer = client.post(f"/api/conversations/{cid}/turns", json={"mode": "pair", "content": "hi"})
    tid = answer.get_json()["id"]
    with app.app_context():
        owner = db.session.get(Conversation, cid).client_id
        db.session.remove()
        with record_sql() as statements:
            turn = find_turn(tid, owner)
            slots = [r.slot for r in turn.responses]
        assert statements == ["SELECT"]
        assert slots == ["a", "b"]
        db.session.remove()
        assert find_turn(tid, "another-client") is None


def test_a_conversation_is_shown_and_extended_without_reading_the_stored_contexts(
    app, client, queued
):
    """Each turn stores what its model was sent (up to MAX_CONTEXT_CHARS): read back for
    every turn, a long conversation's page and each new message parsed megabytes of JSON."""
    cid = new_conversation(client)
    for text in ("one", "two", "three"):
        send(client, cid, text)
    with app.app_context():
        engine = db.engine
    selects: list[str] = []

    def statement(_conn, _cursor, sql, *_args) -> None:
        if sql.lstrip().upper().startswith("SELECT"):
            selects.append(sql)

    event.listen(engine, "before_cursor_execute", statement)
    try:
        shown = get_conversation(client, cid)
        send(client, cid, "four")
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert [t["content"] for t in shown["turns"]] == ["one", "two", "three"]
    assert any("FROM turns" in sql for sql in selects), selects
    assert not any("turns.context" in sql for sql in selects), selects


def test_the_list_shows_only_this_clients_conversations_newest_first(client, other):
    mine = [new_conversation(client) for _ in range(3)]
    theirs = new_conversation(other)
    send(client, mine[1], "Titles come from the first message")

    listed = client.get("/api/conversations")
    assert listed.status_code == 200
    conversations = listed.get_json()["conversations"]
    assert [c["id"] for c in conversations] == mine[::-1]
    for c in conversations:
        assert set(c) >= {"id", "title", "created_at"}
        assert isinstance(c["title"], str) and isinstance(c["created_at"], str)
    assert [c["created_at"] for c in conversations] == sorted(
        (c["created_at"] for c in conversations), reverse=True
    )
    assert conversations[1]["title"] == "Titles come from the first message"
    assert [c["id"] for c in other.get("/api/conversations").get_json()["conversations"]] == [
        theirs
    ]


def test_get_conversation_shows_turns_with_the_contract_fields(app, client):
    cid = new_conversation(client, system_prompt="Be brief.")
    single = send(client, cid, "first message", mode="single")["id"]
    paired = send(client, cid, "second message", mode="pair")["id"]
    detail = get_conversation(client, cid)
    assert detail["id"] == cid
    assert [t["id"] for t in detail["turns"]] == [single, paired]
    for turn in detail["turns"]:
        assert set(turn) >= {"id", "content", "paired", "trigger", "responses", "feedback"}
        assert turn["feedback"] is None
        for r in turn["responses"]:
            assert set(r) >= {"slot", "content", "status", "finish_reason"}
            assert (r["content"], r["status"], r["finish_reason"]) == ("", STREAMING, None)
    first, second = detail["turns"]
    assert (first["content"], first["paired"], first["trigger"]) == (
        "first message",
        False,
        "single",
    )
    assert [r["slot"] for r in first["responses"]] == ["a"]
    assert (second["content"], second["paired"], second["trigger"]) == (
        "second message",
        True,
        "requested",
    )
    assert [r["slot"] for r in second["responses"]] == ["a", "b"]

    finish(app, paired, "a", "answer A")
    finish(app, paired, "b", "answer B")
    a, b = get_turn(client, cid, paired)["responses"]
    assert (a["content"], a["status"], a["finish_reason"]) == ("answer A", DONE, "stop")
    assert (b["content"], b["status"], b["finish_reason"]) == ("answer B", DONE, "stop")


def test_model_names_stay_hidden_until_feedback(app, client, endpoints):
    cid = new_conversation(client)
    tid = send(client, cid, "which one is better?", mode="pair")["id"]
    secret_words = [e["name"] for e in endpoints] + [e["model"] for e in endpoints]
    secret_words += ["endpoint", "temperature", "sk-test-secret"]

    def visible() -> str:
        return client.get(f"/api/conversations/{cid}").get_data(as_text=True) + json.dumps(
            client.get("/api/conversations").get_json()
        )

    assert not [w for w in secret_words if w in visible()]
    finish(app, tid, "a", "one")
    finish(app, tid, "b", "two")
    assert not [w for w in secret_words if w in visible()]  # finished is not rated

    vote = client.post(f"/api/turns/{tid}/feedback", json={"choice": "a"})
    assert vote.status_code == 201
    body = vote.get_json()
    assert body["choice"] == "a"
    revealed = {r["slot"]: (r["endpoint"], r["model"]) for r in body["responses"]}
    assert sorted(revealed.values()) == [("alpha", "alpha-model"), ("beta", "beta-model")]
    shown = {
        r["slot"]: (r["endpoint"], r["model"]) for r in get_turn(client, cid, tid)["responses"]
    }
    assert shown == revealed
    assert "sk-test-secret" not in visible()  # API keys never show


@pytest.mark.parametrize(
    ("mode", "rate", "paired", "trigger"),
    [
        ("single", 1.0, False, "single"),
        ("pair", 0.0, True, "requested"),
        ("auto", 1.0, True, "sampled"),
        ("auto", 0.0, False, "single"),
        (None, 1.0, True, "sampled"),
        (None, 0.0, False, "single"),
    ],
)
def test_post_turn_is_202_with_id_paired_and_slots(
    app, client, queued, mode, rate, paired, trigger
):
    app.config["PREFERENCE_SAMPLE_RATE"] = rate
    cid = new_conversation(client)
    body = {"content": "hello"} if mode is None else {"content": "hello", "mode": mode}
    response = client.post(f"/api/conversations/{cid}/turns", json=body)
    assert response.status_code == 202
    started = response.get_json()
    assert set(started) >= {"id", "paired", "slots"}
    assert isinstance(started["id"], str) and started["id"]
    assert started["paired"] is paired
    assert started["slots"] == (["a", "b"] if paired else ["a"])
    turn = get_turn(client, cid, started["id"])
    assert (turn["paired"], turn["trigger"]) == (paired, trigger)
    with app.app_context():
        rows = db.session.scalars(select(Response).where(Response.turn_id == started["id"])).all()
        assert sorted(queued) == sorted(r.id for r in rows)  # one generation per slot
        if paired:
            assert rows[0].endpoint_name != rows[1].endpoint_name


def test_auto_mode_samples_at_the_configured_rate(app, client, queued):
    app.config["PREFERENCE_SAMPLE_RATE"] = 0.5
    cid = new_conversation(client)
    paired = [send(client, cid, f"m{i}", mode="auto")["paired"] for i in range(24)]
    assert True in paired and False in paired  # fails with odds of 2 in 2**24
    triggers = {t["trigger"] for t in get_conversation(client, cid)["turns"]}
    assert triggers == {"sampled", "single"}


def test_the_turn_context_is_system_prompt_earlier_turns_and_the_new_message(app, client):
    cid = new_conversation(client, system_prompt="You are a pirate.")
    first = send(client, cid, "Ahoy?", mode="single")["id"]
    finish(app, first, "a", "Arr, ahoy!")
    second = send(client, cid, "Where is the treasure?", mode="pair")["id"]
    finish(app, second, "a", "Buried.")
    finish(app, second, "b", "On the island.")
    assert client.post(f"/api/turns/{second}/feedback", json={"choice": "b"}).status_code == 201
    third = send(client, cid, "Show me.", mode="pair")["id"]

    with app.app_context():
        contexts = {t.id: t.context for t in db.session.scalars(select(Turn)).all()}
    system = {"role": "system", "content": "You are a pirate."}
    assert contexts[first] == [system, {"role": "user", "content": "Ahoy?"}]
    assert contexts[second] == [
        system,
        {"role": "user", "content": "Ahoy?"},
        {"role": "assistant", "content": "Arr, ahoy!"},
        {"role": "user", "content": "Where is the treasure?"},
    ]
    assert contexts[third] == [
        system,
        {"role": "user", "content": "Ahoy?"},
        {"role": "assistant", "content": "Arr, ahoy!"},
        {"role": "user", "content": "Where is the treasure?"},
        {"role": "assistant", "content": "On the island."},
        {"role": "user", "content": "Show me."},
    ]


def test_the_context_has_no_system_message_without_a_system_prompt(app, client):
    cid = new_conversation(client)
    tid = send(client, cid, "Just me.")["id"]
    with app.app_context():
        assert db.session.get(Turn, tid).context == [{"role": "user", "content": "Just me."}]


# --------------------------------------------------------------------------- the real stack


def _stream_to_end(browser, tid: str):
    stream = browser.stream(tid)
    assert stream.of_type("end"), stream.events
    return stream


def _unique(text: str) -> str:
    return f"{text} {uuid.uuid4().hex[:8]}"


@pytest.mark.stack
def test_stack_feedback_reveals_models_and_is_given_once(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    started = browser.send(cid, _unique("rate me #tokens=20"), mode="pair")
    tid = started["id"]
    stream = _stream_to_end(browser, tid)
    for slot in "ab":
        assert [e["type"] for e in stream.terminals(slot)] == ["done"]
    before = browser.turn(cid, tid)
    assert all("endpoint" not in r and "model" not in r for r in before["responses"])
    assert [r["content"] for r in before["responses"]] == [stream.text("a"), stream.text("b")]

    vote = browser.post(f"/api/turns/{tid}/feedback", {"choice": "b", "reason": "clearer"})
    assert vote.status_code == 201, vote.text
    body = vote.json()
    assert (body["choice"], body["reason"]) == ("b", "clearer")
    revealed = {r["slot"]: (r["endpoint"], r["model"]) for r in body["responses"]}
    assert sorted(revealed.values()) == [("alpha", "alpha-model"), ("beta", "beta-model")]
    for slot in "ab":  # the recorded endpoint is the one that wrote the text
        assert stream.text(slot).startswith("[" + revealed[slot][0][:2])

    after = browser.turn(cid, tid)
    assert {r["slot"]: (r["endpoint"], r["model"]) for r in after["responses"]} == revealed
    assert (after["feedback"]["choice"], after["feedback"]["reason"]) == ("b", "clearer")

    again = browser.post(f"/api/turns/{tid}/feedback", {"choice": "a"})
    assert again.status_code == 409
    assert set(again.json()["error"]) == {"code", "message"}
    assert browser.turn(cid, tid)["feedback"]["choice"] == "b"


@pytest.mark.stack
def test_stack_which_endpoint_lands_in_slot_a_is_random(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    in_slot_a = set()
    for i in range(20):  # one turn at a time; stop once both endpoints were seen in slot a
        tid = browser.send(cid, f"left or right {i} #tokens=3", mode="pair")["id"]
        _stream_to_end(browser, tid)
        vote = browser.post(f"/api/turns/{tid}/feedback", {"choice": "tie"})
        assert vote.status_code == 201, vote.text
        slots = {r["slot"]: r["endpoint"] for r in vote.json()["responses"]}
        assert sorted(slots.values()) == ["alpha", "beta"]
        in_slot_a.add(slots["a"])
        if len(in_slot_a) == 2:
            break
    assert in_slot_a == {"alpha", "beta"}  # fails with odds of 2 in 2**20


@pytest.mark.stack
def test_stack_reroll_keeps_slot_a_and_generates_slot_b(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    tid = browser.send(cid, _unique("once more #tokens=20"), mode="single")["id"]
    original = _stream_to_end(browser, tid).text("a")
    assert original and browser.turn(cid, tid)["responses"][0]["content"] == original

    response = browser.post(f"/api/turns/{tid}/reroll", {})
    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["id"], body["paired"], body["slots"]) == (tid, True, ["a", "b"])

    stream = _stream_to_end(browser, tid)
    assert stream.text("a") == original
    assert [e["type"] for e in stream.terminals("b")] == ["done"]
    turn = browser.turn(cid, tid)
    assert (turn["paired"], turn["trigger"]) == (True, "reroll")
    a, b = turn["responses"]
    assert (a["slot"], a["content"], a["status"]) == ("a", original, DONE)
    assert (b["slot"], b["content"], b["status"]) == ("b", stream.text("b"), DONE)
    assert b["content"] and b["content"] != original
    assert browser.post(f"/api/turns/{tid}/reroll", {}).status_code == 409


@pytest.mark.stack
def test_stack_cancel_ends_both_slots_with_the_partial_text(stack, fake_llm):
    browser = stack.client()
    cid = browser.new_conversation()
    message = _unique("long story #delay=0.2 #tokens=200")
    tid = browser.send(cid, message, mode="pair")["id"]
    first = browser.stream(tid, limit=1)  # generation is under way
    assert first.of_type("token")

    response = browser.post(f"/api/turns/{tid}/cancel", {})
    assert response.status_code == 202, response.text

    stream = _stream_to_end(browser, tid)
    turn = browser.turn(cid, tid)
    for slot, stored in zip("ab", turn["responses"], strict=True):
        assert [e["type"] for e in stream.terminals(slot)] == ["cancelled"]
        assert stored["status"] == "cancelled"
        assert stored["content"] == stream.text(slot)
    assert any(r["content"] for r in turn["responses"])
    # each slot holds the start of what its endpoint would have said in full: stopped early
    full_answers = [
        expected_text(path.split("/")[1], body["messages"], body, body.get("max_tokens"))
        for path, body in list(fake_llm.requests)
        if body["messages"][-1]["content"] == message
    ]
    assert full_answers
    for slot in "ab":
        partial = stream.text(slot)
        assert partial == "" or any(
            full.startswith(partial) and len(partial) < len(full) for full in full_answers
        ), (slot, partial)
    vote = browser.post(f"/api/turns/{tid}/feedback", {"choice": "a"})
    assert vote.status_code == 409


@pytest.mark.stack
def test_stack_a_later_turn_continues_with_the_chosen_response(stack, fake_llm):
    browser = stack.client()
    cid = browser.new_conversation(system_prompt="Answer briefly.")
    question = _unique("first question #tokens=12")
    tid = browser.send(cid, question, mode="pair")["id"]
    stream = _stream_to_end(browser, tid)
    chosen, rejected = stream.text("b"), stream.text("a")
    assert chosen and chosen != rejected
    assert browser.post(f"/api/turns/{tid}/feedback", {"choice": "b"}).status_code == 201

    follow_up = _unique("follow-up #tokens=3")
    next_tid = browser.send(cid, follow_up, mode="single")["id"]
    _stream_to_end(browser, next_tid)

    sent = [
        body["messages"]
        for _, body in list(fake_llm.requests)
        if body["messages"][-1]["content"] == follow_up
    ]
    assert len(sent) == 1
    assert sent[0] == [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": question},
        {"role": "assistant", "content": chosen},
        {"role": "user", "content": follow_up},
    ]


@pytest.mark.stack
def test_stack_two_browsers_are_isolated(stack):
    owner, stranger = stack.client(), stack.client()
    cid = owner.new_conversation()
    tid = owner.send(cid, _unique("mine only #tokens=5"), mode="pair")["id"]
    _stream_to_end(owner, tid)

    assert stranger.get(f"/api/conversations/{cid}").status_code == 404
    calls = [
        stranger.post(f"/api/conversations/{cid}/turns", {"content": "hi", "mode": "pair"}),
        stranger.post(f"/api/turns/{tid}/feedback", {"choice": "a"}),
        stranger.post(f"/api/turns/{tid}/reroll", {}),
        stranger.post(f"/api/turns/{tid}/cancel", {}),
    ]
    unknown = stranger.post(f"/api/turns/{UNKNOWN_ID}/feedback", {"choice": "a"})
    for call in calls:
        assert call.status_code == 404
        assert call.json()["error"]["code"] == "not_found"
    assert calls[1].json() == unknown.json()
    assert cid not in [c["id"] for c in stranger.get("/api/conversations").json()["conversations"]]

    spied = stranger.stream(tid)
    assert spied.close_code == 4404
    assert spied.events == []

    turn = owner.turn(cid, tid)
    assert turn["feedback"] is None and len(owner.conversation(cid)["turns"]) == 1


@pytest.mark.settings(MAX_TURNS_PER_CONVERSATION=2)
def test_a_full_conversation_refuses_more_turns(client):
    cid = client.post("/api/conversations", json={}).get_json()["id"]
    for i in range(2):
        assert (
            client.post(f"/api/conversations/{cid}/turns", json={"content": f"m{i}"}).status_code
            == 202
        )
    refused = client.post(f"/api/conversations/{cid}/turns", json={"content": "one more"})
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "conversation_full"
    assert len(client.get(f"/api/conversations/{cid}").get_json()["turns"]) == 2
