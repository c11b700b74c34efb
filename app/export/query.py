"""The votes to export: one flat row per feedback, streamed from the database in batches."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import aliased

from app.export.majority import by_majority, decide
from app.extensions import db
from app.models import CampaignItem, Conversation, Feedback, Response, Turn

BATCH_SIZE = 1000
# One vote as iter_votes yields it: a named tuple of the selected columns, by their labels.
Vote: TypeAlias = Any
# The columns of each response, prefixed `a_` and `b_` in a vote row.
RESPONSE_COLUMNS = (
    "id",
    "endpoint_name",
    "model",
    "params",
    "max_tokens",
    "status",
    "content",
    "finish_reason",
    "error",
    "token_count",
    "queued_at",
    "started_at",
    "first_token_at",
    "finished_at",
)


@dataclass(frozen=True)
class VoteFilter:
    """Which votes to take: a time window on the vote, an endpoint, a trigger, raters."""

    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive
    endpoint: str | None = None  # either slot answered by this endpoint
    trigger: str | None = None
    rater_id: str | None = None  # only this rater's votes
    # Votes of these raters are left out (`--exclude-flagged`: the raters with a flag).
    exclude_raters: frozenset[str] = frozenset()
    campaign_id: str | None = None  # only votes on this campaign's items
    majority: bool = False  # one vote per turn, its majority's (app/export/majority.py)


def _slot(name: str):
    return aliased(Response, name=f"response_{name}")


def _joined(stmt: Select, vote_filter: VoteFilter, ra, rb, conversation: bool = False) -> Select:
    """Join a vote to its turn, both responses and (if asked) the conversation; apply the filter."""
    stmt = stmt.select_from(Feedback).join(Turn, Feedback.turn_id == Turn.id)
    if conversation:  # every turn has one: the join only adds columns, and costs a lookup a vote
        stmt = stmt.join(Conversation, Turn.conversation_id == Conversation.id)
    # Outer joins: a vote whose pair is incomplete is still seen, to be counted as skipped.
    stmt = stmt.outerjoin(ra, and_(ra.turn_id == Turn.id, ra.slot == "a"))
    stmt = stmt.outerjoin(rb, and_(rb.turn_id == Turn.id, rb.slot == "b"))
    if vote_filter.since is not None:
        stmt = stmt.where(Feedback.created_at >= vote_filter.since)
    if vote_filter.until is not None:
        stmt = stmt.where(Feedback.created_at < vote_filter.until)
    if vote_filter.endpoint is not None:
        stmt = stmt.where(
            or_(ra.endpoint_name == vote_filter.endpoint, rb.endpoint_name == vote_filter.endpoint)
        )
    if vote_filter.trigger is not None:
        stmt = stmt.where(Turn.trigger == vote_filter.trigger)
    if vote_filter.rater_id is not None:
        stmt = stmt.where(Feedback.rater_id == vote_filter.rater_id)
    if vote_filter.exclude_raters:
        stmt = stmt.where(Feedback.rater_id.not_in(sorted(vote_filter.exclude_raters)))
    if vote_filter.campaign_id is not None:
        items = select(CampaignItem.turn_id).where(
            CampaignItem.campaign_id == vote_filter.campaign_id
        )
        stmt = stmt.where(Turn.id.in_(items))
    return stmt


def count_votes(vote_filter: VoteFilter) -> int:
    """How many votes the filter selects (for the progress bar)."""
    ra, rb = _slot("a"), _slot("b")
    stmt = _joined(select(func.count(Feedback.id)), vote_filter, ra, rb)
    return db.session.execute(stmt).scalar_one()


def _columns(ra, rb, everything: bool) -> list:
    """The labelled columns of a vote row: all of them, or what a pairwise record needs."""
    if not everything:
        return [
            Feedback.choice,
            Turn.id.label("turn_id"),
            Turn.context,
            ra.status.label("a_status"),
            ra.content.label("a_content"),
            rb.status.label("b_status"),
            rb.content.label("b_content"),
        ]
    columns = [
        Feedback.id.label("feedback_id"),
        Feedback.choice,
        Feedback.reason,
        Feedback.rater_id.label("client_id"),  # the raw format's name from before raters
        Feedback.created_at.label("voted_at"),
        Turn.id.label("turn_id"),
        Turn.position.label("turn_position"),
        Turn.trigger,
        Turn.context,
        Turn.created_at.label("turn_created_at"),
        Conversation.id.label("conversation_id"),
        Conversation.system_prompt,
        Conversation.created_at.label("conversation_created_at"),
    ]
    for prefix, alias in (("a", ra), ("b", rb)):
        columns += [getattr(alias, name).label(f"{prefix}_{name}") for name in RESPONSE_COLUMNS]
    return columns


def iter_votes(
    vote_filter: VoteFilter, everything: bool = True, batch_size: int = BATCH_SIZE
) -> Generator[Vote, None, None]:
    """Every selected vote as one flat named tuple, oldest first (vote time, then id).

    Rows come `batch_size` at a time (a server-side cursor on PostgreSQL), so memory
    stays flat however many votes there are. With `everything` False a row holds only
    the choice, the context and each response's status and content.
    """
    # Read before the votes' cursor opens: one query at a time on the connection.
    decided = majority_choices(vote_filter) if vote_filter.majority else None
    ra, rb = _slot("a"), _slot("b")
    stmt = _joined(select(*_columns(ra, rb, everything)), vote_filter, ra, rb, everything)
    stmt = stmt.order_by(Feedback.created_at, Feedback.id)
    # Core rows, not ORM loading: nothing enters the session's identity map.
    connection = db.session.connection()
    result = connection.execution_options(yield_per=batch_size).execute(stmt)
    # A named tuple, not SQLAlchemy's Row: reading a field by name off a Row costs about
    # 0.4 us (a __getattr__ fallback), and a vote's records read seven or more of them.
    vote = namedtuple("Vote", result.keys())  # type: ignore[misc]  # fields known at run time
    rows: Iterator[Vote] = map(vote._make, result)
    if decided is not None:
        rows = by_majority(rows, decided)
    try:
        yield from rows
    finally:
        result.close()


def majority_choices(vote_filter: VoteFilter) -> dict[str, str]:
    """Per turn with a selected vote: the choice of a strict majority of them, or SPLIT."""
    ra, rb = _slot("a"), _slot("b")
    tally = select(Feedback.turn_id, Feedback.choice, func.count(Feedback.id))
    stmt = _joined(tally, vote_filter, ra, rb).group_by(Feedback.turn_id, Feedback.choice)
    return decide(db.session.execute(stmt).all())
