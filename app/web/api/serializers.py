"""The JSON shapes of conversations, turns, responses and feedback."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, overload

from app.models import Conversation, Feedback, Response, Turn


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
    """A conversation with all its turns."""
    return {
        **conversation_summary(conversation),
        "system_prompt": conversation.system_prompt,
        "turns": [turn_json(t) for t in conversation.turns],
    }


def response_json(response: Response, reveal: bool) -> dict[str, Any]:
    """A response; which model wrote it stays hidden until the turn is rated."""
    data = {
        "slot": response.slot,
        "content": response.content,
        "status": response.status,
        "finish_reason": response.finish_reason,
        "error": response.error,
    }
    if reveal:
        data |= model_identity(response)
    return data


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
        "created_at": timestamp(feedback.created_at),
    }


def turn_json(turn: Turn) -> dict[str, Any]:
    """A turn with its responses and vote."""
    reveal = turn.feedback is not None
    return {
        "id": turn.id,
        "content": turn.content,
        "paired": turn.paired,
        "trigger": turn.trigger,
        "created_at": timestamp(turn.created_at),
        "responses": [response_json(r, reveal) for r in turn.responses],
        "feedback": feedback_json(turn.feedback),
    }


def turn_started_json(turn: Turn) -> dict[str, Any]:
    """The answer to starting or re-rolling a turn."""
    slots = [r.slot for r in turn.responses]
    return {"id": turn.id, "paired": len(slots) == 2, "slots": slots, "trigger": turn.trigger}
