"""Handing campaign items to raters, K raters per item, safely under concurrency.

An item has `overlap` (K) places. An assignment holds one while its rater has voted on the
item's turn, or has neither voted nor skipped it and was handed it less than
CAMPAIGN_ASSIGNMENT_TIMEOUT ago; an abandoned one gives its place back by itself, with
nothing to sweep. A rater is handed the open item with the fewest votes (then the fewest
places taken, then the first in the file) that still has a free place and that they have
not voted on, skipped, or been handed already.

Two raters asking at once never take more than K places:
- PostgreSQL: the candidate item is locked (`SELECT ... FOR UPDATE SKIP LOCKED`), so a
  second rater moves on to the next item instead of waiting, and the place is taken by an
  INSERT that counts the places again under the lock;
- SQLite: that INSERT is one statement (`INSERT ... SELECT ... WHERE places < K`), and
  SQLite runs writing statements one at a time, each on the latest data.
A vote takes the same lock and checks its place in one UPDATE, so a vote cast after the
assignment expired counts only if the place is still free.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import (
    ColumnElement,
    DateTime,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from app.errors import ApiError
from app.extensions import db
from app.models import Assignment, Campaign, CampaignItem, Feedback, Skip, utcnow

# Claims lost to a concurrent request before giving up (each loss means another rater got
# the place: the next try picks another item).
_TRIES = 8


def timeout() -> timedelta:
    """How long an assignment waits for its vote before its place goes back to the pool."""
    return timedelta(seconds=current_app.config["CAMPAIGN_ASSIGNMENT_TIMEOUT"])


def _voted(rater_id, turn_id) -> ColumnElement[bool]:
    return exists().where(Feedback.turn_id == turn_id, Feedback.rater_id == rater_id)


def _skipped(rater_id, turn_id) -> ColumnElement[bool]:
    return exists().where(Skip.turn_id == turn_id, Skip.rater_id == rater_id)


def _places(item_id, turn_id, cutoff: datetime, besides: str | None = None):
    """The places of an item taken (a scalar subquery): votes, and live assignments."""
    held = aliased(Assignment)
    taken = or_(
        _voted(held.rater_id, turn_id),
        and_(held.assigned_at > cutoff, ~_skipped(held.rater_id, turn_id)),
    )
    query = select(func.count()).select_from(held).where(held.item_id == item_id, taken)
    if besides is not None:
        query = query.where(held.rater_id != besides)
    return query.scalar_subquery()


def _item_votes():
    return (
        select(func.count(Feedback.id))
        .where(Feedback.turn_id == CampaignItem.turn_id)
        .correlate(CampaignItem)
        .scalar_subquery()
    )


def live_assignment(campaign: Campaign, rater_id: str) -> Assignment | None:
    """The rater's assignment in `campaign` still waiting for their vote, if any."""
    cutoff = utcnow() - timeout()
    query = (
        select(Assignment)
        .join(CampaignItem, CampaignItem.id == Assignment.item_id)
        .where(
            CampaignItem.campaign_id == campaign.id,
            Assignment.rater_id == rater_id,
            Assignment.assigned_at > cutoff,
            ~_voted(rater_id, CampaignItem.turn_id),
            ~_skipped(rater_id, CampaignItem.turn_id),
        )
        .order_by(Assignment.assigned_at, Assignment.id)
        .limit(1)
    )
    return db.session.scalar(query)


def _candidate(
    campaign: Campaign, rater_id: str, cutoff: datetime, skip_locked: bool
) -> CampaignItem | None:
    places = _places(CampaignItem.id, CampaignItem.turn_id, cutoff)
    handed = exists().where(
        Assignment.item_id == CampaignItem.id,
        Assignment.rater_id == rater_id,
        Assignment.assigned_at > cutoff,
    )
    query = (
        select(CampaignItem)
        .where(
            CampaignItem.campaign_id == campaign.id,
            places < campaign.overlap,
            ~handed,
            ~_voted(rater_id, CampaignItem.turn_id),
            ~_skipped(rater_id, CampaignItem.turn_id),
        )
        .order_by(_item_votes(), places, CampaignItem.position)
        .limit(1)
        # PostgreSQL: lock it; with skip_locked a concurrent request takes the next item
        # instead of waiting for this one. SQLite has no row locks; SQLAlchemy leaves this
        # out there.
        .with_for_update(skip_locked=skip_locked, of=CampaignItem)
    )
    return db.session.scalar(query)


def claim_next(campaign: Campaign, rater_id: str) -> Assignment | None:
    """The rater's live assignment in `campaign`, else a new one on the item that most needs
    a vote, else None (nothing is left for them). A new one is flushed, not committed: the
    caller commits it with the item's pair (app/chat/campaign_turns.py)."""
    live = live_assignment(campaign, rater_id)
    if live is not None:
        return live
    for _attempt in range(_TRIES):
        now = utcnow()
        cutoff = now - timeout()
        # Skipping locked items, nothing found may only mean that every item left is being
        # handed to someone else this instant (one item, K raters at once): then wait for
        # those locks, and count again.
        item = _candidate(campaign, rater_id, cutoff, skip_locked=True)
        if item is None:
            item = _candidate(campaign, rater_id, cutoff, skip_locked=False)
        if item is None:
            db.session.rollback()
            return None
        # An expired assignment of theirs on this item (neither voted nor skipped) goes;
        # the new one takes its place, if the item still has one free.
        db.session.execute(
            delete(Assignment).where(Assignment.item_id == item.id, Assignment.rater_id == rater_id)
        )
        taken = _places(literal(item.id), literal(item.turn_id), cutoff)
        claim = (
            insert(Assignment)
            .from_select(
                ["item_id", "rater_id", "assigned_at"],
                select(
                    literal(item.id), literal(rater_id), literal(now, DateTime(timezone=True))
                ).where(taken < campaign.overlap),
            )
            # The new row's id tells whether the place was free: rowcount is not told for an
            # INSERT ... SELECT on every driver (psycopg reports -1).
            .returning(Assignment.id)
        )
        claimed = db.session.execute(claim).scalar()
        if claimed is not None:
            return db.session.get_one(Assignment, claimed)
        db.session.rollback()  # filled meanwhile: look again
    return None


def release(assignment_id: int) -> None:
    """Give an assignment's place back at once (its item's pair could not be started)."""
    db.session.execute(delete(Assignment).where(Assignment.id == assignment_id))
    db.session.commit()


def was_handed(turn_id: str, rater_id: str | None) -> bool:
    """Whether `turn_id` is a campaign item's turn handed to `rater_id` (who may then see it
    and vote on it, even once the assignment has expired)."""
    if not rater_id:
        return False
    query = (
        select(Assignment.id)
        .join(CampaignItem, CampaignItem.id == Assignment.item_id)
        .where(CampaignItem.turn_id == turn_id, Assignment.rater_id == rater_id)
        .limit(1)
    )
    return db.session.scalar(query) is not None


def is_campaign_turn(turn_id: str) -> bool:
    """Whether `turn_id` is a campaign item's shared turn."""
    query = select(CampaignItem.id).where(CampaignItem.turn_id == turn_id).limit(1)
    return db.session.scalar(query) is not None


def admit_vote(turn_id: str, rater_id: str) -> bool:
    """Before a vote on `turn_id`: False for a chat turn. For a campaign item's turn, True
    once the rater's place is checked (and renewed, flushed in the caller's transaction);
    a 409 when they voted or skipped already, or their assignment expired and the item's
    places were taken meanwhile."""
    item = db.session.scalar(
        select(CampaignItem).where(CampaignItem.turn_id == turn_id).with_for_update()
    )
    if item is None:
        return False
    if db.session.scalar(select(_voted(rater_id, turn_id))):
        raise ApiError(409, "already_rated", _("You have voted on this item already."))
    if db.session.scalar(select(_skipped(rater_id, turn_id))):
        raise ApiError(409, "already_skipped", _("You have skipped this item."))
    now = utcnow()
    cutoff = now - timeout()
    overlap = select(Campaign.overlap).where(Campaign.id == item.campaign_id).scalar_subquery()
    others = _places(literal(item.id), literal(turn_id), cutoff, besides=rater_id)
    renewed = db.session.execute(
        update(Assignment)
        .where(
            Assignment.item_id == item.id,
            Assignment.rater_id == rater_id,
            or_(Assignment.assigned_at > cutoff, others < overlap),
        )
        .values(assigned_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if renewed != 1:
        db.session.rollback()
        minutes = max(1, round(timeout().total_seconds() / 60))
        raise ApiError(
            409,
            "assignment_expired",
            _(
                "This item waited more than %(minutes)s minutes for your vote and went to "
                "other raters, who have rated it; ask for the next one.",
                minutes=minutes,
            ),
        )
    return True
