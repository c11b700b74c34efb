"""`flask preferences purge`: retention deletes old conversations whole, after asking."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.models import Conversation, Feedback, Response, Turn
from tests.stored_votes import T0, _close_connections, add_conversation, add_turn, at  # noqa: F401

OLD = T0 - timedelta(days=100)


def counts(app) -> tuple[int, int, int, int]:
    """Rows in conversations, turns, responses, feedback."""
    with app.app_context():
        return tuple(
            db.session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (Conversation, Turn, Response, Feedback)
        )


@pytest.fixture
def history(app):
    """An old conversation still going on today, an old finished one, and a new one."""
    with app.app_context():
        ongoing = add_conversation(created_at=OLD)
        add_turn(ongoing, "old q", ("alpha", "x"), ("beta", "y"), "a", OLD + timedelta(minutes=1))
        add_turn(ongoing, "new q", ("alpha", "x"), ("beta", "y"), "b", at(1))
        finished = add_conversation(created_at=OLD + timedelta(days=1))
        add_turn(finished, "q", ("alpha", "x"), ("beta", "y"), "tie", OLD + timedelta(days=1))
        recent = add_conversation(created_at=at(2))
        add_turn(recent, "q", ("alpha", "x"), ("beta", "y"), "a", at(3))
        db.session.commit()
        return recent.id


def test_purge_deletes_conversations_created_before_the_date_whole(app, runner, history):
    assert counts(app) == (3, 4, 8, 4)
    result = runner.invoke(args=["preferences", "purge", "--before", "2026-10-01", "--yes"])

    assert result.exit_code == 0, result.output
    assert result.output == (
        "Deleted 2 conversations (3 turns, 6 responses, 3 votes) "
        "created before 2026-10-01T00:00:00+00:00.\n"
    )
    assert counts(app) == (1, 1, 2, 1)
    with app.app_context():
        assert db.session.scalars(select(Conversation.id)).all() == [history]


def test_purge_asks_first_and_keeps_everything_when_told_no(app, runner, history):
    result = runner.invoke(args=["preferences", "purge", "--before", "2026-10-01"], input="n\n")

    assert result.exit_code == 1
    assert (
        "Delete 2 conversations (3 turns, 6 responses, 3 votes) created before "
        "2026-10-01T00:00:00+00:00? This cannot be undone. [y/N]: n"
    ) in result.output
    assert "Aborted" in result.output
    assert counts(app) == (3, 4, 8, 4)

    result = runner.invoke(args=["preferences", "purge", "--before", "2026-10-01"], input="y\n")
    assert result.exit_code == 0
    assert counts(app) == (1, 1, 2, 1)


def test_purge_with_nothing_old_enough_deletes_nothing(app, runner, history):
    result = runner.invoke(args=["preferences", "purge", "--before", "2026-07-01T00:00+02:00"])

    assert result.exit_code == 0
    assert result.output == (
        "Nothing to delete: no conversation was created before 2026-06-30T22:00:00+00:00.\n"
    )
    assert counts(app) == (3, 4, 8, 4)


def test_purge_needs_a_valid_date(runner, app):
    result = runner.invoke(args=["preferences", "purge", "--yes"])
    assert result.exit_code == 2 and "Missing option '--before'" in result.stderr
    result = runner.invoke(args=["preferences", "purge", "--before", "yesterday", "--yes"])
    assert result.exit_code == 2 and "is not an ISO 8601 date" in result.stderr


def test_purge_goes_in_batches_each_committed_whole(app, monkeypatch):
    """A batch is one transaction: a purge that fails half-way has deleted whole
    conversations, the batches before, and nothing of the batch it failed in."""
    from app.export import purge as purging

    with app.app_context():
        for day in range(5):
            conversation = add_conversation(created_at=OLD + timedelta(days=day))
            add_turn(conversation, "q", ("alpha", "x"), ("beta", "y"), "a", OLD)
        db.session.commit()
    assert counts(app) == (5, 5, 10, 5)

    statements = 0
    execute = purging._execute

    def fail_in_the_second_batch(stmt):
        nonlocal statements
        statements += 1
        if statements == 6:  # the second statement of the second batch (its responses)
            raise RuntimeError("the database went away")
        return execute(stmt)

    monkeypatch.setattr(purging, "_execute", fail_in_the_second_batch)
    batches = []
    with app.app_context(), pytest.raises(RuntimeError):
        purging.purge(T0, batch_size=2, progress=batches.append)
    assert batches == [2]
    assert counts(app) == (3, 3, 6, 3)  # the first two conversations went, whole

    monkeypatch.setattr(purging, "_execute", execute)
    with app.app_context():
        done = purging.purge(T0, batch_size=2, progress=batches.append)
    assert batches == [2, 2, 1]
    assert (done.conversations, done.turns, done.responses, done.votes) == (3, 3, 6, 3)
    assert counts(app) == (0, 0, 0, 0)
