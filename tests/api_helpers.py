"""Helpers shared by the HTTP API tests (tests/test_api_*.py, tests/test_health.py)."""

from __future__ import annotations

from sqlalchemy import select

from app import create_app
from app.extensions import db
from app.models import DONE, ERROR, Feedback, Response, Turn

UNKNOWN_ID = "0" * 32
UNUSED_REDIS = "redis://127.0.0.1:1/0"  # port 1: nothing listens there
TRACEBACK_MARKERS = ("Traceback", 'File "', "RuntimeError", "line ")


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


def app_with(app, **overrides):
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
