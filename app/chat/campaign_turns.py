"""A campaign item's one pair: generated on the item's first assignment, shared by its raters.

Each item's turn lives in a conversation of its own, owned by the campaigns' system rater
(CAMPAIGN_OWNER_ID): nobody's conversation list shows it, nobody adds to it, and the raters
the item is handed to reach the turn through their assignment (app/chat/ownership.py).
The first rater may see the pair stream; later ones get it replayed from the same turn,
byte for byte, with the same models in the same slots.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select, update

from app.campaigns.assignment import claim_next, release, timeout
from app.campaigns.store import ensure_owner
from app.chat import pairing
from app.chat.prompt import build_context
from app.chat.turns import Admit, new_response
from app.errors import ApiError
from app.extensions import commit_written, db
from app.models import (
    CAMPAIGN_OWNER_ID,
    Assignment,
    Campaign,
    CampaignItem,
    Conversation,
    Feedback,
    Turn,
)
from app.streaming.enqueue import enqueue

CAMPAIGN_TRIGGER = "campaign"
_rng = random.SystemRandom()


@dataclass(frozen=True)
class Handed:
    """An item handed to a rater, with its shared turn."""

    assignment: Assignment
    item: CampaignItem
    turn: Turn
    expires_at: datetime


def hand_next(campaign: Campaign, rater_id: str, admit: Admit | None = None) -> Handed | None:
    """The item `rater_id` should rate next in `campaign` (their unfinished one first), its
    pair generated and queued if it is the item's first assignment; None when nothing is
    left for them."""
    assignment = claim_next(campaign, rater_id)
    if assignment is None:
        return None
    item = assignment.item
    created = None
    if item.turn_id is None:
        ensure_owner()  # made with the campaign; again here if it has been deleted since
        created = _new_turn(campaign, item, admit)
        if not _attach(item, created):
            created = None
    turn = db.session.get(Turn, item.turn_id)
    assert turn is not None  # set just now, or earlier by another assignment
    commit_written()
    if created is not None:
        try:
            enqueue(created.responses)
        except Exception:
            # Nothing will generate the pair (the broker is down, say): take it and the
            # assignment back, so the next request starts afresh.
            db.session.delete(created.conversation)
            db.session.commit()
            release(assignment.id)
            raise
    return Handed(assignment, item, turn, _aware(assignment.assigned_at) + timeout())


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _plans(campaign: Campaign) -> list[pairing.SlotPlan]:
    config = current_app.config
    endpoints, alternate = config["MODEL_ENDPOINTS"], config["ALTERNATE_PARAMS"]
    if not campaign.pair:
        return pairing.plan_pair(endpoints, alternate, _rng)
    try:
        return pairing.plan_fixed_pair(endpoints, campaign.pair, alternate, _rng)
    except KeyError:
        raise ApiError(
            409,
            "campaign_misconfigured",
            _("This campaign compares endpoints that are no longer configured; tell its admin."),
        ) from None


def _new_turn(campaign: Campaign, item: CampaignItem, admit: Admit | None) -> Turn:
    conversation = Conversation(
        rater_id=CAMPAIGN_OWNER_ID,
        title=f"{campaign.name} #{item.position + 1}",
        system_prompt=item.system_prompt,
    )
    turn = Turn(
        conversation=conversation,
        position=0,
        content=item.prompt,
        trigger=CAMPAIGN_TRIGGER,
        context=build_context(conversation, item.prompt, current_app.config["MAX_CONTEXT_CHARS"]),
    )
    responses = [
        new_response(turn, slot, plan) for slot, plan in zip("ab", _plans(campaign), strict=True)
    ]
    if admit is not None:
        admit(responses)  # counts against the generation caps of the rater who starts it
    db.session.add(conversation)
    db.session.flush()
    return turn


def _attach(item: CampaignItem, turn: Turn) -> bool:
    """Make `turn` the item's pair; False when another request attached one first (then
    ours is dropped unqueued, and theirs is used)."""
    attached = db.session.execute(
        update(CampaignItem)
        .where(CampaignItem.id == item.id, CampaignItem.turn_id.is_(None))
        .values(turn_id=turn.id)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if attached != 1:
        db.session.delete(turn.conversation)
        db.session.flush()
    db.session.refresh(item)
    if item.turn_id is None:  # cannot happen: either ours or theirs is set
        raise RuntimeError(f"campaign item {item.id} has no pair after attaching one")
    return attached == 1


def item_votes(item: CampaignItem) -> int:
    """How many raters have voted on the item so far."""
    if item.turn_id is None:
        return 0
    query = select(func.count(Feedback.id)).where(Feedback.turn_id == item.turn_id)
    return db.session.scalar(query) or 0
