"""Campaigns: a set of prompts, each answered by one shared pair that K raters vote on."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.models.base import new_id, utcnow

# The rater that owns every campaign item's conversation. Nobody signs in as it: it is
# disabled, and an anonymous rater's id is 32 hex digits, which this is not. Anonymous in
# kind so that rater reports (which list named raters and raters who voted) leave it out.
CAMPAIGN_OWNER_ID = "campaigns"


class Campaign(Model):
    """A named prompt set: each item is rated by `overlap` different raters."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    guidelines: Mapped[str | None] = mapped_column(Text)  # markdown, shown to raters
    overlap: Mapped[int] = mapped_column(default=1)
    # [endpoint_a, endpoint_b] every item compares, or None for the pairing policy.
    pair: Mapped[list[str] | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(1000), default="")  # the file it was made from
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(db.DateTime(timezone=True))

    items: Mapped[list[CampaignItem]] = relationship(
        back_populates="campaign", order_by="CampaignItem.position", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        """Whether items are still handed out."""
        return self.closed_at is None


class CampaignItem(Model):
    """One prompt of a campaign, and the turn (its one pair) generated on first assignment."""

    __tablename__ = "campaign_items"
    __table_args__ = (UniqueConstraint("campaign_id", "position"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    campaign_id: Mapped[str] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    position: Mapped[int]  # order in the source, from 0
    prompt: Mapped[str] = mapped_column(Text)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    # Where the prompt came from: `file:line`, `file: seed_examples[2]`, for error reports.
    origin: Mapped[str] = mapped_column(String(1000), default="")
    # Set once, by whichever assignment first needs the pair; a purge of old conversations
    # clears it, and the next assignment generates a new pair.
    turn_id: Mapped[str | None] = mapped_column(
        ForeignKey("turns.id", ondelete="SET NULL"), unique=True
    )
    created_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)

    campaign: Mapped[Campaign] = relationship(back_populates="items")

    def as_json(self) -> dict[str, Any]:
        """The item as a rater sees it."""
        return {"id": self.id, "prompt": self.prompt, "system_prompt": self.system_prompt}


class Assignment(Model):
    """An item handed to a rater. It holds one of the item's `overlap` places while the
    rater has voted on the item's turn, or has neither voted nor skipped it and was handed
    it less than CAMPAIGN_ASSIGNMENT_TIMEOUT ago; else the place is back in the pool."""

    __tablename__ = "campaign_assignments"
    # One row per item and rater: a rater is never handed an item twice at once, and a race
    # between two of their own requests loses on this constraint.
    __table_args__ = (
        UniqueConstraint("item_id", "rater_id"),
        Index("ix_campaign_assignments_rater_id", "rater_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("campaign_items.id", ondelete="CASCADE"))
    rater_id: Mapped[str] = mapped_column(ForeignKey("raters.id", ondelete="CASCADE"))
    # Renewed when an expired assignment is handed to the same rater again.
    assigned_at: Mapped[datetime] = mapped_column(db.DateTime(timezone=True), default=utcnow)

    item: Mapped[CampaignItem] = relationship()
