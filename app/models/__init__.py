"""Duet's tables: raters and invites; conversations, turns, responses and feedback."""

from app.models.base import new_id, utcnow
from app.models.chat import Conversation, Feedback, Response, Turn
from app.models.raters import Invite, Rater
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
    "CANCELLED",
    "CHOICES",
    "DONE",
    "ERROR",
    "STREAMING",
    "TERMINAL_STATUSES",
    "TRIGGERS",
    "Conversation",
    "Feedback",
    "Invite",
    "Rater",
    "Response",
    "Turn",
    "new_id",
    "utcnow",
]
