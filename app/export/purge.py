"""Retention: delete conversations started before a date, with everything in them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, select

from app.extensions import db
from app.models import Conversation, Feedback, Response, Turn


@dataclass(frozen=True)
class PurgeCounts:
    """How many rows of each table a purge removes."""

    conversations: int
    turns: int
    responses: int
    votes: int

    def describe(self) -> str:
        """The counts in words."""
        return (
            f"{self.conversations:,} conversations ({self.turns:,} turns, "
            f"{self.responses:,} responses, {self.votes:,} votes)"
        )


def _conversation_ids(before: datetime) -> Select:
    return select(Conversation.id).where(Conversation.created_at < before)


def _turn_ids(before: datetime) -> Select:
    return select(Turn.id).where(Turn.conversation_id.in_(_conversation_ids(before)))


def count_purge(before: datetime) -> PurgeCounts:
    """What `purge(before)` would delete, without deleting it."""

    def count(stmt: Select) -> int:
        return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()

    return PurgeCounts(
        conversations=count(_conversation_ids(before)),
        turns=count(_turn_ids(before)),
        responses=count(select(Response.id).where(Response.turn_id.in_(_turn_ids(before)))),
        votes=count(select(Feedback.id).where(Feedback.turn_id.in_(_turn_ids(before)))),
    )


def purge(before: datetime) -> PurgeCounts:
    """Delete every conversation created before `before`, its turns, responses and votes.

    A conversation is kept or deleted whole, later turns included, so no conversation
    is left with a gap. One transaction: either all of it goes or none.
    """
    deleted = {}
    # Children first, so this does not depend on the database enforcing ON DELETE CASCADE.
    for name, model, column in (
        ("votes", Feedback, Feedback.turn_id),
        ("responses", Response, Response.turn_id),
    ):
        stmt = delete(model).where(column.in_(_turn_ids(before)))
        deleted[name] = _execute(stmt)
    deleted["turns"] = _execute(
        delete(Turn).where(Turn.conversation_id.in_(_conversation_ids(before)))
    )
    deleted["conversations"] = _execute(
        delete(Conversation).where(Conversation.created_at < before)
    )
    db.session.commit()
    return PurgeCounts(**deleted)


def _execute(stmt) -> int:
    result = db.session.execute(stmt, execution_options={"synchronize_session": False})
    return result.rowcount
