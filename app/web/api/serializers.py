"""The JSON shapes of conversations, turns, responses, feedback, ratings, edits and skips."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from app.chat.signal import Signal, read_signal
from app.models import Conversation, Edit, Feedback, Rating, Response, Skip, Turn
from app.streaming.failures import public_message


def timestamp(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC; SQLite's naive datetimes are UTC too."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def conversation_summary(conversation: Conversation) -> dict[str, Any]:
    """A conversation as listed."""
    return {
        "id": conversation.id,
        "title": conversation.title,
        "created_at": timestamp(conversation.created_at),
    }


def conversation_detail(conversation: Conversation) -> dict[str, Any]:
    """A conversation with all its turns, and what its rater (the only one who can read it)
    gave besides votes: thumbs, edits, skips."""
    signal = read_signal(conversation, conversation.rater_id)
    return {
        **conversation_summary(conversation),
        "system_prompt": conversation.system_prompt,
        "turns": [turn_json(t, signal) for t in conversation.turns],
    }


def response_json(response: Response, reveal: bool, signal: Signal | None = None) -> dict[str, Any]:
    """A response; which model wrote it stays hidden until the turn is rated, and so does
    the endpoint in an error (`error` is in plain words; the detail is in the raw export)."""
    signal = signal or Signal()
    data = {
        "id": response.id,
        "slot": response.slot,
        "content": response.content,
        "status": response.status,
        "finish_reason": response.finish_reason,
        "error": public_message(response.error) if response.error else None,
        "rating": rating_json(signal.ratings.get(response.id)),
        "edit": edit_json(signal.edits.get(response.id)),
    }
    if reveal:
        data |= model_identity(response)
    return data


@overload
def rating_json(rating: Rating) -> dict[str, Any]: ...
@overload
def rating_json(rating: None) -> None: ...
def rating_json(rating: Rating | None) -> dict[str, Any] | None:
    """A thumbs rating: never names the model, so it is safe before a pair's vote."""
    if rating is None:
        return None
    return {
        "rating": rating.rating,
        "tags": list(rating.tags or []),
        "reason": rating.reason,
        "created_at": timestamp(rating.created_at),
    }


@overload
def edit_json(edit: Edit) -> dict[str, Any]: ...
@overload
def edit_json(edit: None) -> None: ...
def edit_json(edit: Edit | None) -> dict[str, Any] | None:
    """A corrected answer."""
    if edit is None:
        return None
    return {"id": edit.id, "content": edit.content, "created_at": timestamp(edit.created_at)}


@overload
def skip_json(skip: Skip) -> dict[str, Any]: ...
@overload
def skip_json(skip: None) -> None: ...
def skip_json(skip: Skip | None) -> dict[str, Any] | None:
    """A declined pair."""
    if skip is None:
        return None
    return {"reason": skip.reason, "created_at": timestamp(skip.created_at)}


def model_identity(response: Response) -> dict[str, Any]:
    """What produced a response: endpoint name, model and sampling settings."""
    return {"endpoint": response.endpoint_name, "model": response.model, "params": response.params}


@overload
def feedback_json(feedback: Feedback) -> dict[str, Any]: ...
@overload
def feedback_json(feedback: None) -> None: ...
def feedback_json(feedback: Feedback | None) -> dict[str, Any] | None:
    """A vote."""
    if feedback is None:
        return None
    return {
        "choice": feedback.choice,
        "reason": feedback.reason,
        "tags": list(feedback.tags or []),
        "created_at": timestamp(feedback.created_at),
    }


def turn_json(turn: Turn, signal: Signal | None = None) -> dict[str, Any]:
    """A turn with its responses, vote, and the rater's thumbs, edits and skip."""
    reveal = turn.feedback is not None
    signal = signal or Signal()
    return {
        "id": turn.id,
        "content": turn.content,
        "paired": turn.paired,
        "trigger": turn.trigger,
        "created_at": timestamp(turn.created_at),
        "responses": [response_json(r, reveal, signal) for r in turn.responses],
        "feedback": feedback_json(turn.feedback),
        "skip": skip_json(signal.skips.get(turn.id)),
    }


def turn_started_json(turn: Turn) -> dict[str, Any]:
    """The answer to starting or re-rolling a turn."""
    slots = [r.slot for r in turn.responses]
    return {"id": turn.id, "paired": len(slots) == 2, "slots": slots, "trigger": turn.trigger}
