"""Routes for campaigns: the open ones, and the next item for this rater."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _

from app.campaigns.progress import progress
from app.campaigns.store import list_campaigns
from app.chat.campaign_turns import hand_next, item_votes
from app.errors import ApiError, not_found
from app.extensions import db
from app.models import Campaign
from app.web.api import bp, generation_limit
from app.web.api.body import json_body
from app.web.api.serializers import timestamp, turn_started_json
from app.web.fairness import Admission
from app.web.identity import rater_id


def _summary(campaign: Campaign, rater: str) -> dict:
    """A campaign's progress: items, items done (K votes each), this rater's votes."""
    return {"id": campaign.id, "name": campaign.name, **progress(campaign, rater)}


@bp.get("/campaigns")
def list_open_campaigns():
    """The open campaigns, with how far each is and how many items this rater rated."""
    rater = rater_id()
    campaigns = [
        {
            **_summary(c, rater),
            "guidelines": c.guidelines,
            "created_at": timestamp(c.created_at),
        }
        for c in list_campaigns(only_open=True)
    ]
    return jsonify(campaigns=campaigns)


def _open_campaign(campaign_id: str) -> Campaign:
    if len(campaign_id) > 64 or "\x00" in campaign_id:
        raise not_found("campaign")
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise not_found("campaign")
    if not campaign.is_open:
        raise ApiError(409, "campaign_closed", _("This campaign is closed; it hands out no items."))
    return campaign


@bp.post("/campaigns/<campaign_id>/next")
@generation_limit  # an item's first assignment starts its pair: two generations
def next_item(campaign_id: str):
    """The item this rater should rate next, with its pair's turn (streamed over
    /ws/turns/<id>, voted on with the usual feedback call); 204 when none is left."""
    rater = rater_id()
    json_body()
    campaign = _open_campaign(campaign_id)
    with Admission() as admission:
        handed = hand_next(campaign, rater, admit=admission)
    if handed is None:
        return "", 204
    item = handed.item
    return jsonify(
        item={**item.as_json(), "position": item.position + 1, "votes": item_votes(item)},
        # The answers' ids too: a rater's thumbs on them (POST /api/responses/<rid>/rating)
        # need them, and the item's conversation is nobody's to read them from.
        turn={
            **turn_started_json(handed.turn),
            "responses": [{"id": r.id, "slot": r.slot} for r in handed.turn.responses],
        },
        campaign=_summary(campaign, rater),
        expires_at=timestamp(handed.expires_at),
    )
