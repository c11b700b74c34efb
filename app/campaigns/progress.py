"""A campaign's progress as a rater sees it: items, items done, their own votes.

Kept apart from app/campaigns/status.py, so that the web processes never load NumPy.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.extensions import db
from app.models import Campaign, CampaignItem, Feedback


def votes_per_item(campaign: Campaign) -> dict[str, int]:
    """Each item's number of votes (0 included)."""
    query = (
        select(CampaignItem.id, func.count(Feedback.id))
        .outerjoin(Feedback, Feedback.turn_id == CampaignItem.turn_id)
        .where(CampaignItem.campaign_id == campaign.id)
        .group_by(CampaignItem.id)
    )
    return {item: votes for item, votes in db.session.execute(query)}


def rater_votes(campaign: Campaign, rater_id: str) -> int:
    """How many of the campaign's items `rater_id` has voted on."""
    query = (
        select(func.count(Feedback.id))
        .join(CampaignItem, CampaignItem.turn_id == Feedback.turn_id)
        .where(CampaignItem.campaign_id == campaign.id, Feedback.rater_id == rater_id)
    )
    return db.session.scalar(query) or 0


def progress(campaign: Campaign, rater_id: str) -> dict[str, Any]:
    """What a rater sees of a campaign: items, items done (K votes), their own votes."""
    votes = votes_per_item(campaign)
    return {
        "items": len(votes),
        "rated": sum(n >= campaign.overlap for n in votes.values()),
        "mine": rater_votes(campaign, rater_id),
        "votes": sum(votes.values()),
        "overlap": campaign.overlap,
    }
