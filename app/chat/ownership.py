"""Looking up a rater's own conversations and turns; anything else does not exist.

A campaign item's turn is owned by the campaigns' system rater and shared: each rater the
item was handed to may open it, stream it and vote on it (app/campaigns/assignment.py)."""

from __future__ import annotations

from sqlalchemy.orm import defer, joinedload, selectinload

from app.campaigns.assignment import was_handed
from app.errors import not_found
from app.extensions import db
from app.models import Conversation, Turn

# A conversation is read whole to show it: three queries, however many turns it has,
# instead of two more per turn. Each turn's stored context (what its model was sent, up
# to MAX_CONTEXT_CHARS) is left unread: only the worker needs it, and a long
# conversation's contexts add up to megabytes of JSON.
_WHOLE_CONVERSATION = [
    selectinload(Conversation.turns).options(
        defer(Turn.context), selectinload(Turn.responses), selectinload(Turn.votes)
    )
]
# A turn comes with its conversation (whose rater owns it) and its responses, which every
# caller reads: one query instead of three (on PostgreSQL 1.6 -> 1.1 ms per socket opened).
_TURN_WITH_OWNER = [joinedload(Turn.conversation), joinedload(Turn.responses)]


def find_turn(turn_id: str, rater_id: str | None) -> Turn | None:
    """The turn with `turn_id` if it belongs to `rater_id`, or is a campaign item's turn
    handed to `rater_id`; else None."""
    if not rater_id or len(turn_id) > 64 or "\x00" in turn_id:  # PostgreSQL refuses NUL
        return None
    turn = db.session.get(Turn, turn_id, options=_TURN_WITH_OWNER)
    if turn is None:
        return None
    if turn.conversation.rater_id != rater_id and not was_handed(turn.id, rater_id):
        return None
    return turn


def own_conversation(conversation_id: str, rater_id: str, whole: bool = True) -> Conversation:
    """The rater's conversation, or a 404 exactly like an unknown id. With `whole`, its
    turns, responses and votes come with it (to show it); without, only its row (to add a
    turn to it: app/chat/prompt.py reads what that needs as plain columns)."""
    if len(conversation_id) > 64 or "\x00" in conversation_id:
        raise not_found("conversation")
    options = _WHOLE_CONVERSATION if whole else ()
    conversation = db.session.get(Conversation, conversation_id, options=options)
    if conversation is None or conversation.rater_id != rater_id:
        raise not_found("conversation")
    return conversation


def own_turn(turn_id: str, rater_id: str) -> Turn:
    """The rater's turn, or a 404 exactly like an unknown id."""
    turn = find_turn(turn_id, rater_id)
    if turn is None:
        raise not_found("turn")
    return turn
