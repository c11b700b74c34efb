"""Duet's tables: raters and invites; conversations, turns, responses and feedback; ratings,
edits and skips; campaigns, their items and assignments."""

from app.models.base import new_id, utcnow
from app.models.campaigns import CAMPAIGN_OWNER_ID, Assignment, Campaign, CampaignItem
from app.models.chat import Conversation, Feedback, Response, Turn
from app.models.raters import Invite, Rater
from app.models.signal import Edit, Rating, Skip
from app.vocabulary import (  # the values the columns take, importable from here as before
    CANCELLED,
    CHOICES,
    DONE,
    ERROR,
    STREAMING,
    TERMINAL_STATUSES,
    TRIGGERS,
)

__all__ = [
    "CAMPAIGN_OWNER_ID",
    "CANCELLED",
    "CHOICES",
    "DONE",
    "ERROR",
    "STREAMING",
    "TERMINAL_STATUSES",
    "TRIGGERS",
    "Assignment",
    "Campaign",
    "CampaignItem",
    "Conversation",
    "Edit",
    "Feedback",
    "Invite",
    "Rater",
    "Rating",
    "Response",
    "Skip",
    "Turn",
    "new_id",
    "utcnow",
]
