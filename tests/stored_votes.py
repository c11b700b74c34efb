"""Votes stored as the app writes them, for the tests of exports, stats and purging."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.chat.prompt import build_context
from app.extensions import db
from app.models import DONE, ERROR, Conversation, Feedback, Response, Turn
from app.raters.accounts import anonymous_rater

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PARAMS = {"alpha": {"temperature": 0.5}, "beta": {"temperature": 0.9}, "gamma": {}}


@pytest.fixture(autouse=True)
def _close_connections(request: pytest.FixtureRequest):
    """Close the app's pooled connections after the test (PostgreSQL warns of leaked ones)."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def add_conversation(system_prompt: str | None = None, created_at: datetime = T0) -> Conversation:
    """A new conversation of the anonymous rater `client-1`."""
    conversation = Conversation(
        rater_id=anonymous_rater("client-1").id, system_prompt=system_prompt, created_at=created_at
    )
    db.session.add(conversation)
    return conversation


def add_turn(
    conversation: Conversation,
    content: str,
    a: tuple,
    b: tuple,
    choice: str | None = None,
    voted_at: datetime | None = None,
    trigger: str = "sampled",
    b_status: str = DONE,
    reason: str | None = None,
) -> Turn:
    """A paired turn as the app stores it: context built from the earlier turns, and a vote.

    `a` and `b` are (endpoint name, response text), optionally with sampling params.
    """
    created = voted_at - timedelta(seconds=30) if voted_at else T0
    turn = Turn(
        conversation=conversation,
        position=len(conversation.turns),
        content=content,
        trigger=trigger,
        context=build_context(conversation, content),
        created_at=created,
    )
    for slot, (endpoint, text, *params), status in (("a", a, DONE), ("b", b, b_status)):
        Response(
            turn=turn,
            slot=slot,
            endpoint_name=endpoint,
            model=f"{endpoint}-model",
            params=params[0] if params else PARAMS[endpoint],
            max_tokens=256,
            status=status,
            content=text,
            finish_reason="stop" if status == DONE else None,
            error=None if status == DONE else "endpoint down",
            token_count=len(text.split()),
            queued_at=created,
            started_at=created + timedelta(seconds=1),
            first_token_at=created + timedelta(seconds=2),
            finished_at=created + timedelta(seconds=5),
        )
    if choice is not None:
        Feedback(turn=turn, choice=choice, reason=reason, rater_id="client-1", created_at=voted_at)
    db.session.add(turn)
    db.session.flush()
    return turn


def at(minutes: int) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def votes(app):
    """Two conversations, every choice, a multi-turn context, a failed response."""
    with app.app_context():
        first = add_conversation("Be brief.")
        add_turn(
            first, "Hi ✓", ("alpha", "Hello A"), ("beta", "Hello B"), "b", at(1), reason="nicer"
        )
        add_turn(
            first, "And then?", ("beta", "Then B"), ("alpha", "Then A"), "a", at(2), "requested"
        )
        add_turn(first, "Draw?", ("alpha", "Tie A"), ("beta", "Tie B"), "tie", at(3))
        add_turn(first, "Both?", ("alpha", "Bad A"), ("beta", "Bad B"), "both_bad", at(4))
        second = add_conversation(created_at=at(4))
        add_turn(second, "Café?", ("beta", "Oui"), ("gamma", "Non"), "a", at(5), "reroll")
        add_turn(second, "More", ("gamma", "X"), ("alpha", "Y"), "b", at(6), b_status=ERROR)
        db.session.commit()


def run_export(runner, tmp_path: Path, *args: str) -> tuple[list[dict], object]:
    """Export to a file; the parsed lines and the click result."""
    out = tmp_path / "out.jsonl"
    result = runner.invoke(args=["preferences", "export", "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n") or text == ""
    return [json.loads(line) for line in text.splitlines()], result


SYSTEM = {"role": "system", "content": "Be brief."}
