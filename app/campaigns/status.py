"""How far a campaign is: items, votes, skips, each rater's share, and the agreement."""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select

from app.campaigns import agreement as agree
from app.campaigns.assignment import timeout
from app.campaigns.progress import votes_per_item
from app.extensions import db
from app.models import Assignment, Campaign, CampaignItem, Feedback, Rater, Skip, utcnow


def _per_rater(model, campaign: Campaign) -> Counter[str]:
    query = (
        select(model.rater_id, func.count(model.id))
        .join(CampaignItem, CampaignItem.turn_id == model.turn_id)
        .where(CampaignItem.campaign_id == campaign.id)
        .group_by(model.rater_id)
    )
    # Not dict(result): a Result has keys(), so dict() would take it for a mapping.
    return Counter({rater: n for rater, n in db.session.execute(query)})


def _waiting(campaign: Campaign) -> int:
    """Assignments still waiting for a vote (neither voted nor skipped, not expired)."""
    voted = select(Feedback.id).where(
        Feedback.turn_id == CampaignItem.turn_id, Feedback.rater_id == Assignment.rater_id
    )
    skipped = select(Skip.id).where(
        Skip.turn_id == CampaignItem.turn_id, Skip.rater_id == Assignment.rater_id
    )
    query = (
        select(func.count(Assignment.id))
        .join(CampaignItem, CampaignItem.id == Assignment.item_id)
        .where(
            CampaignItem.campaign_id == campaign.id,
            Assignment.assigned_at > utcnow() - timeout(),
            ~voted.exists(),
            ~skipped.exists(),
        )
    )
    return db.session.scalar(query) or 0


def status(
    campaign: Campaign, rounds: int = agree.BOOTSTRAP_ROUNDS, seed: int = 0
) -> dict[str, Any]:
    """The campaign's figures, as `flask campaigns status --json` prints them."""
    per_item = votes_per_item(campaign)
    votes, skips = _per_rater(Feedback, campaign), _per_rater(Skip, campaign)
    cast = agree.campaign_votes(db.session, campaign.id)
    shares = agree.rater_shares(cast)
    ids = set(votes) | set(skips)
    names = {
        r: n for r, n in db.session.execute(select(Rater.id, Rater.name).where(Rater.id.in_(ids)))
    }
    raters = [
        {
            "id": rater_id,
            "name": names.get(rater_id, rater_id),
            "votes": votes[rater_id],
            "skips": skips[rater_id],
            "shared_items": shares[rater_id].shared_items if rater_id in shares else 0,
            "agreement": round(shares[rater_id].agreement, 4) if rater_id in shares else None,
        }
        for rater_id in sorted(ids, key=lambda r: (-votes[r], names.get(r, r)))
    ]
    items = len(per_item)
    done = sum(n >= campaign.overlap for n in per_item.values())
    return {
        "id": campaign.id,
        "name": campaign.name,
        "open": campaign.is_open,
        "overlap": campaign.overlap,
        "pair": campaign.pair,
        "source": campaign.source,
        "items": items,
        "votes": sum(votes.values()),
        "skips": sum(skips.values()),
        "done": done,
        "done_share": round(done / items, 4) if items else None,
        "waiting": _waiting(campaign),
        "raters": raters,
        "agreement": agree.agreement(cast, rounds, seed).to_json(),
    }
