"""Retention: delete conversations started before a date, with everything in them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import CursorResult, Select, delete, func, select

from app.extensions import db
from app.models import Conversation, Feedback, Response, Turn

# Conversations deleted per transaction: each batch holds the database's write lock (all of
# SQLite) for tens of milliseconds, not for the whole purge.
BATCH_SIZE = 500


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


def purge(
    before: datetime,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], object] | None = None,
) -> PurgeCounts:
    """Delete every conversation created before `before`, its turns, responses and votes.

    A conversation is kept or deleted whole, later turns included, so no conversation
    is left with a gap. The conversations go `batch_size` at a time, one transaction
    each, so the chats going on meanwhile never wait long for the write lock (one
    transaction over a year of data held it for its whole length: SQLite's writers gave
    up after their busy timeout, and a gevent worker stood still). A purge that stops
    half-way has deleted whole conversations only; running it again finishes the job.
    `progress(n)` follows each batch of n conversations.
    """
    deleted: Counter[str] = Counter()
    while ids := db.session.scalars(
        _conversation_ids(before).order_by(Conversation.id).limit(batch_size)
    ).all():
        turn_ids = select(Turn.id).where(Turn.conversation_id.in_(ids))
        # Children first, so this does not depend on the database enforcing ON DELETE CASCADE.
        deleted["votes"] += _execute(delete(Feedback).where(Feedback.turn_id.in_(turn_ids)))
        deleted["responses"] += _execute(delete(Response).where(Response.turn_id.in_(turn_ids)))
        deleted["turns"] += _execute(delete(Turn).where(Turn.conversation_id.in_(ids)))
        deleted["conversations"] += _execute(delete(Conversation).where(Conversation.id.in_(ids)))
        db.session.commit()
        if progress is not None:
            progress(len(ids))
    return PurgeCounts(**{name: deleted[name] for name in PurgeCounts.__dataclass_fields__})


def _execute(stmt) -> int:
    result = db.session.execute(stmt, execution_options={"synchronize_session": False})
    return cast(CursorResult, result).rowcount  # a DELETE's result is a CursorResult
