"""The schemas of the OpenAPI document: conversations, turns, responses, votes, raters."""

from __future__ import annotations

from typing import Any

from app.vocabulary import AUTH_MODES, CHOICES, MODES, ROLES, SLOTS, STATUSES, TRIGGERS
from app.web.openapi.parts import NO_NUL, NOT_BLANK_NO_NUL, TEXT_RULES, obj, ref
from app.web.openapi.signal import signal_schemas, tags_schema


def schemas(config: Any) -> dict[str, Any]:
    """The document's schemas, with the limits of `config`."""
    timestamp = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
    nullable_text = {"type": "string", "nullable": True}
    slot = {"type": "string", "enum": list(SLOTS)}
    identity = {
        "endpoint": {"type": "string", "description": "configured endpoint name"},
        "model": {"type": "string"},
        "params": {"type": "object", "description": "sampling settings sent to the model"},
    }
    return {
        "Error": obj(
            {
                "error": obj(
                    {
                        "code": {
                            "type": "string",
                            "pattern": "^[a-z_]+$",
                            "description": "machine code, e.g. not_found, invalid_mode",
                        },
                        "message": {"type": "string", "description": "for people"},
                    },
                    ["code", "message"],
                )
            },
            ["error"],
        ),
        "Health": obj(
            {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "database": {"type": "string", "description": "`ok` or `unreachable: ...`"},
                "redis": {"type": "string", "description": "`ok` or `unreachable: ...`"},
            },
            ["status", "database", "redis"],
        ),
        "ConversationSummary": obj(
            {
                "id": {"type": "string"},
                "title": {
                    "type": "string",
                    "description": "`New conversation` until the first message, "
                    "then the start of that message",
                },
                "created_at": timestamp,
            },
            ["id", "title", "created_at"],
        ),
        "ConversationList": obj(
            {
                "conversations": {
                    "type": "array",
                    "items": ref("ConversationSummary"),
                    "description": "this rater's only, newest first",
                }
            },
            ["conversations"],
        ),
        "Conversation": {
            "allOf": [
                ref("ConversationSummary"),
                obj(
                    {
                        "system_prompt": nullable_text,
                        "turns": {"type": "array", "items": ref("Turn")},
                    },
                    ["system_prompt", "turns"],
                ),
            ]
        },
        "Response": obj(
            {
                "id": {"type": "string", "description": "for /api/responses/{rid}/..."},
                "slot": slot,
                "content": {"type": "string", "description": "the text generated so far"},
                "status": {"type": "string", "enum": list(STATUSES)},
                "finish_reason": {**nullable_text, "description": "e.g. stop, length"},
                "error": {
                    **nullable_text,
                    "description": "why an `error` response failed, in plain words that never "
                    "name the endpoint or model",
                },
                "rating": {"allOf": [ref("Rating")], "nullable": True},
                "edit": {"allOf": [ref("Edit")], "nullable": True},
                **identity,
            },
            ["id", "slot", "content", "status", "finish_reason", "error", "rating", "edit"],
        )
        | {
            "description": "`endpoint`, `model` and `params` are present only once the turn "
            "has feedback, so the voter cannot know which model wrote what."
        },
        "Feedback": obj(
            {
                "choice": {"type": "string", "enum": list(CHOICES)},
                "reason": nullable_text,
                "tags": {"type": "array", "items": {"type": "string"}},
                "created_at": timestamp,
            },
            ["choice", "reason", "tags", "created_at"],
        ),
        "Turn": obj(
            {
                "id": {"type": "string"},
                "content": {"type": "string", "description": "the user's message"},
                "paired": {"type": "boolean"},
                "trigger": {"type": "string", "enum": list(TRIGGERS)},
                "created_at": timestamp,
                "responses": {
                    "type": "array",
                    "items": ref("Response"),
                    "minItems": 1,
                    "maxItems": 2,
                },
                "feedback": {"allOf": [ref("Feedback")], "nullable": True},
                "skip": {"allOf": [ref("Skip")], "nullable": True},
            },
            ["id", "content", "paired", "trigger", "created_at", "responses", "feedback"],
        ),
        "TurnStarted": obj(
            {
                "id": {"type": "string", "description": "the turn id, for /ws/turns/{tid}"},
                "paired": {"type": "boolean"},
                "slots": {"type": "array", "items": slot, "minItems": 1, "maxItems": 2},
                "trigger": {"type": "string", "enum": list(TRIGGERS)},
            },
            ["id", "paired", "slots", "trigger"],
        ),
        "FeedbackRecorded": obj(
            {
                "choice": {"type": "string", "enum": list(CHOICES)},
                "reason": nullable_text,
                "tags": {"type": "array", "items": {"type": "string"}},
                "created_at": timestamp,
                "turn_id": {"type": "string"},
                "responses": {
                    "type": "array",
                    "items": obj({"slot": slot, **identity}, ["slot", *identity]),
                    "description": "which endpoint, model and settings wrote each slot",
                },
            },
            ["choice", "reason", "tags", "created_at", "turn_id", "responses"],
        ),
        "Cancelled": obj(
            {
                "id": {"type": "string"},
                "cancelled": {
                    "type": "array",
                    "items": slot,
                    "maxItems": 2,
                    "description": "the slots this call stopped; [] when none was streaming",
                },
            },
            ["id", "cancelled"],
        ),
        "NewConversation": obj(
            {
                "system_prompt": {
                    **nullable_text,
                    "maxLength": config["MAX_SYSTEM_PROMPT_CHARS"],
                    "pattern": NO_NUL,
                    "description": "blank counts as none; " + TEXT_RULES,
                }
            }
        ),
        "ConversationRename": obj(
            {
                "title": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": 200,
                    "pattern": NOT_BLANK_NO_NUL,
                    "description": "the new title; runs of white space become one space",
                }
            },
            ["title"],
        ),
        "NewTurn": obj(
            {
                "content": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": config["MAX_MESSAGE_CHARS"],
                    "pattern": NOT_BLANK_NO_NUL,
                    "description": "the user's message, not blank; " + TEXT_RULES,
                },
                "mode": {
                    "type": "string",
                    "enum": list(MODES),
                    "default": "auto",
                    "description": "`auto` pairs with probability PREFERENCE_SAMPLE_RATE "
                    "(trigger `sampled`), `pair` always (`requested`), `single` never",
                },
            },
            ["content"],
        ),
        "NewFeedback": obj(
            {
                "choice": {"type": "string", "enum": list(CHOICES)},
                "reason": {
                    **nullable_text,
                    "maxLength": config["MAX_REASON_CHARS"],
                    "pattern": NO_NUL,
                    "description": "blank counts as none; " + TEXT_RULES,
                },
                "tags": tags_schema(config),
            },
            ["choice"],
        ),
        "Empty": {"type": "object", "description": "no fields are read; `{}` or no body"},
        "Rater": obj(
            {
                "id": {"type": "string"},
                "name": {
                    "type": "string",
                    "description": "`anonymous-<id>` for an anonymous rater",
                },
                "role": {"type": "string", "enum": list(ROLES)},
            },
            ["id", "name", "role"],
        ),
        "Me": obj(
            {
                "auth_mode": {"type": "string", "enum": list(AUTH_MODES)},
                "rater": {
                    "allOf": [ref("Rater")],
                    "nullable": True,
                    "description": "null when nobody is signed in (named modes only)",
                },
            },
            ["auth_mode", "rater"],
        ),
        **signal_schemas(config),
    }
