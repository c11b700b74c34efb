"""What rater quality is computed from: each vote with its timing, and each rater."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Feedback, Rater, Rating, Response, Skip, Turn
from app.models.base import as_utc
from app.stats.style import words
from app.vocabulary import ANONYMOUS


@dataclass(frozen=True)
class TimedVote:
    """One vote: who, what, on which trigger, and when the answers could be read."""

    rater_id: str
    choice: str
    trigger: str
    voted_at: datetime | None
    both_done_at: datetime | None  # the later of the two answers' finished_at
    both_shown_at: datetime | None  # the later of the two answers' first tokens
    words: int  # both answers together


def _later(first: datetime | None, second: datetime | None) -> datetime | None:
    first, second = as_utc(first), as_utc(second)
    if first is None or second is None:
        return None
    return max(first, second)


def timed_votes() -> Iterator[TimedVote]:
    """Every vote with its timing, streamed."""
    ra, rb = aliased(Response, name="response_a"), aliased(Response, name="response_b")
    stmt = (
        select(
            Feedback.rater_id,
            Feedback.choice,
            Turn.trigger,
            Feedback.created_at,
            ra.finished_at,
            rb.finished_at,
            ra.first_token_at,
            rb.first_token_at,
            ra.content,
            rb.content,
        )
        .select_from(Feedback)
        .join(Turn, Feedback.turn_id == Turn.id)
        .outerjoin(ra, and_(ra.turn_id == Turn.id, ra.slot == "a"))
        .outerjoin(rb, and_(rb.turn_id == Turn.id, rb.slot == "b"))
        .order_by(Feedback.id)
    )
    result = db.session.connection().execution_options(yield_per=1000).execute(stmt)
    try:
        for rater_id, choice, trigger, voted, a_done, b_done, a_first, b_first, a, b in result:
            done = _later(a_done, b_done)
            shown = _later(a_first, b_first) or done
            yield TimedVote(
                rater_id, choice, trigger, as_utc(voted), done, shown, words(a) + words(b)
            )
    finally:
        result.close()


def shared_votes() -> list[tuple[str, str, str]]:
    """(turn id, rater id, choice) of every vote on a turn that more than one rater voted on:
    a campaign's item, which its K raters all vote on. Agreement is measured on these."""
    shared = (
        select(Feedback.turn_id)
        .group_by(Feedback.turn_id)
        .having(func.count(func.distinct(Feedback.rater_id)) > 1)
    )
    stmt = select(Feedback.turn_id, Feedback.rater_id, Feedback.choice).where(
        Feedback.turn_id.in_(shared)
    )
    return [(turn_id, rater_id, choice) for turn_id, rater_id, choice in db.session.execute(stmt)]


def counts_by_rater(model: type[Rating] | type[Skip]) -> Counter[str]:
    """Rows of `model` (thumbs ratings, skips) per rater."""
    stmt = select(model.rater_id, func.count()).group_by(model.rater_id)
    return Counter(dict(db.session.execute(stmt).all()))


def raters_to_report() -> list[Rater]:
    """The raters who voted, and every named rater (anonymous browsers that never voted are
    many and say nothing), by name."""
    voted = Rater.id.in_(select(Feedback.rater_id).distinct())
    stmt = select(Rater).where((Rater.kind != ANONYMOUS) | voted).order_by(Rater.name)
    return list(db.session.scalars(stmt))
