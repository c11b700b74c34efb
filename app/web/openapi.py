"""The OpenAPI 3.0 description of Duet's HTTP API, served at `GET /api/openapi.json`.

The document is built per request from the app's settings, so the limits it states
(`maxLength` of a message, a system prompt, a reason) are the ones this server enforces.
`docs/api.md` is the prose version; the two describe the same calls.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify

from app.vocabulary import AUTH_MODES, CHOICES, MODES, ROLES, SLOTS, STATUSES, TRIGGERS
from app.web.admin.openapi_paths import admin_paths
from app.web.openapi_campaigns import campaign_paths, campaign_schemas
from app.web.signal_openapi import feedback_patch, signal_paths, signal_schemas, tags_schema

bp = Blueprint("openapi", __name__)

OPENAPI_VERSION = "3.0.3"

JSON = "application/json"
# Text fields: no NUL (PostgreSQL cannot store it); a message must also not be blank.
NO_NUL = r"^[^\u0000]*$"
NOT_BLANK_NO_NUL = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
TEXT_RULES = (
    "longer than the limit (in characters) answers 413; NUL (\\u0000) or an unpaired "
    "surrogate answers 422"
)

DESCRIPTION = """\
Paired streaming chat that collects human preference data.

**Identity.** Every session belongs to a rater, kept in a signed, `HttpOnly` session cookie;
send it back on every call. With `AUTH_MODE=anonymous` (the default) the first request gets
an anonymous rater. With `invite` or `oidc`, a rater signs in first (a one-time link
`/signin/{token}`, or `/auth/login`), and without one every call but `GET /api/me` and this
document answers 401 (`unauthorized`); so does any call of a disabled rater. Conversations and
turns belong to the rater that created them, from whichever browser they sign in: another
rater's answer exactly like an unknown one (404).

**Errors** are JSON, `{"error": {"code": "<machine_code>", "message": "<human text>"}}`.
A wrong method on a known path answers 405 (`method_not_allowed`, with `Allow`); an unknown
path under `/api/` answers 404 (`not_found`). A state-changing request whose `Origin` (or
`Referer`) is another site's answers 403 (`forbidden_origin`); requests without either pass.
An empty body counts as `{}` on every `POST`.

**Streaming.** A turn's one or two responses stream over the websocket
`GET /ws/turns/{tid}` (same cookie; not an HTTP operation, so it is described here only).
Optional query `?after_a=N&after_b=M`: the last `seq` the client holds per slot. Server to
client, one JSON object per message:

- `{"type": "token", "slot": "a", "seq": 1, "text": "Hel"}`: `seq` starts at 1, no gaps per
  slot; concatenating `text` in `seq` order gives the response byte for byte.
- `{"type": "done", "slot": "a", "seq": N, "finish_reason": "stop"}`
- `{"type": "error", "slot": "a", "message": "..."}`
- `{"type": "cancelled", "slot": "a"}`
- `{"type": "reset", "slot": "a"}`: the slot restarts from scratch; drop its text (it also
  carries `attempt` and a unique `id`; a connection sends each reset once).
- `{"type": "end"}`: every slot has ended; the server closes with code 1000.

Close codes: 4401 no signed-in rater (named modes) or a disabled one, 4404 unknown or
another rater's turn, 4400 an `after_*` that is not a whole
number, 1011 the relay lost Redis (reconnect with `after_*` to resume).
"""


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object schema; further properties are allowed, as the API may add fields."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def _error(status: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{status}"}


def _schemas(config: Any) -> dict[str, Any]:
    timestamp = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
    nullable_text = {"type": "string", "nullable": True}
    slot = {"type": "string", "enum": list(SLOTS)}
    identity = {
        "endpoint": {"type": "string", "description": "configured endpoint name"},
        "model": {"type": "string"},
        "params": {"type": "object", "description": "sampling settings sent to the model"},
    }
    return {
        "Error": _obj(
            {
                "error": _obj(
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
        "Health": _obj(
            {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "database": {"type": "string", "description": "`ok` or `unreachable: ...`"},
                "redis": {"type": "string", "description": "`ok` or `unreachable: ...`"},
            },
            ["status", "database", "redis"],
        ),
        "ConversationSummary": _obj(
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
        "ConversationList": _obj(
            {
                "conversations": {
                    "type": "array",
                    "items": _ref("ConversationSummary"),
                    "description": "this rater's only, newest first",
                }
            },
            ["conversations"],
        ),
        "Conversation": {
            "allOf": [
                _ref("ConversationSummary"),
                _obj(
                    {
                        "system_prompt": nullable_text,
                        "turns": {"type": "array", "items": _ref("Turn")},
                    },
                    ["system_prompt", "turns"],
                ),
            ]
        },
        "Response": _obj(
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
                "rating": {"allOf": [_ref("Rating")], "nullable": True},
                "edit": {"allOf": [_ref("Edit")], "nullable": True},
                **identity,
            },
            ["id", "slot", "content", "status", "finish_reason", "error", "rating", "edit"],
        )
        | {
            "description": "`endpoint`, `model` and `params` are present only once the turn "
            "has feedback, so the voter cannot know which model wrote what."
        },
        "Feedback": _obj(
            {
                "choice": {"type": "string", "enum": list(CHOICES)},
                "reason": nullable_text,
                "tags": {"type": "array", "items": {"type": "string"}},
                "created_at": timestamp,
            },
            ["choice", "reason", "tags", "created_at"],
        ),
        "Turn": _obj(
            {
                "id": {"type": "string"},
                "content": {"type": "string", "description": "the user's message"},
                "paired": {"type": "boolean"},
                "trigger": {"type": "string", "enum": list(TRIGGERS)},
                "created_at": timestamp,
                "responses": {
                    "type": "array",
                    "items": _ref("Response"),
                    "minItems": 1,
                    "maxItems": 2,
                },
                "feedback": {"allOf": [_ref("Feedback")], "nullable": True},
                "skip": {"allOf": [_ref("Skip")], "nullable": True},
            },
            ["id", "content", "paired", "trigger", "created_at", "responses", "feedback"],
        ),
        "TurnStarted": _obj(
            {
                "id": {"type": "string", "description": "the turn id, for /ws/turns/{tid}"},
                "paired": {"type": "boolean"},
                "slots": {"type": "array", "items": slot, "minItems": 1, "maxItems": 2},
                "trigger": {"type": "string", "enum": list(TRIGGERS)},
            },
            ["id", "paired", "slots", "trigger"],
        ),
        "FeedbackRecorded": _obj(
            {
                "choice": {"type": "string", "enum": list(CHOICES)},
                "reason": nullable_text,
                "tags": {"type": "array", "items": {"type": "string"}},
                "created_at": timestamp,
                "turn_id": {"type": "string"},
                "responses": {
                    "type": "array",
                    "items": _obj({"slot": slot, **identity}, ["slot", *identity]),
                    "description": "which endpoint, model and settings wrote each slot",
                },
            },
            ["choice", "reason", "tags", "created_at", "turn_id", "responses"],
        ),
        "Cancelled": _obj(
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
        "NewConversation": _obj(
            {
                "system_prompt": {
                    **nullable_text,
                    "maxLength": config["MAX_SYSTEM_PROMPT_CHARS"],
                    "pattern": NO_NUL,
                    "description": "blank counts as none; " + TEXT_RULES,
                }
            }
        ),
        "ConversationRename": _obj(
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
        "NewTurn": _obj(
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
        "NewFeedback": _obj(
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
        "Rater": _obj(
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
        "Me": _obj(
            {
                "auth_mode": {"type": "string", "enum": list(AUTH_MODES)},
                "rater": {
                    "allOf": [_ref("Rater")],
                    "nullable": True,
                    "description": "null when nobody is signed in (named modes only)",
                },
            },
            ["auth_mode", "rater"],
        ),
        **signal_schemas(config),
    }


_ERRORS = {
    "400": "`malformed_json`: the body is not valid JSON, or not a JSON object",
    "401": "`unauthorized`: AUTH_MODE is `invite` or `oidc` and nobody is signed in, or "
    "the rater has been disabled",
    "403": "`forbidden_origin`: sent on another site's behalf (`Origin` or `Referer`)",
    "404": "`not_found`: unknown, or another rater's, conversation or turn",
    "409": "wrong state: `not_paired`, `not_finished`, `already_rated`, `already_paired`, "
    "`conflict`, `already_skipped`, `not_rated`, `edit_window_closed`, `nothing_to_retry`, "
    "`still_stopping`, `conversation_busy`",
    "413": "`too_large` (body over MAX_CONTENT_LENGTH), `content_too_long`, "
    "`system_prompt_too_long`, `reason_too_long`, `title_too_long`, `q_too_long`",
    "415": "`not_json`: a non-empty body without `Content-Type: application/json`",
    "422": "a missing or invalid value (wrong type, blank message, unknown mode or choice, "
    "text with NUL or an unpaired surrogate): `invalid_content`, `invalid_mode`, "
    "`invalid_choice`, `invalid_system_prompt`, `invalid_reason`, `invalid_rating`, "
    "`invalid_tags`, `invalid_title`, `invalid_q`",
    "429": "`rate_limited`: too many requests; wait and retry",
    "503": "`unavailable`: the database or Redis is unreachable",
}


def _responses() -> dict[str, Any]:
    responses = {
        status: _json(_ref("Error"), description) for status, description in _ERRORS.items()
    }
    responses["429"]["headers"] = {
        "Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}
    }
    return responses


def _path_param(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"the {what} id, 32 hex digits as returned on creation; an unknown "
        "id, or another rater's, answers 404",
        "schema": {"type": "string"},
    }


def _body(schema: str, required: bool) -> dict[str, Any]:
    return {"required": required, "content": {JSON: {"schema": _ref(schema)}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: _error(status) for status in statuses}


_POST_ERRORS = ("400", "401", "403", "413", "415", "429", "503")


def _paths() -> dict[str, Any]:
    conversation_link = {"cid": "$response.body#/id"}
    turn_link = {"tid": "$response.body#/id"}
    return {
        "/healthz": {
            "get": {
                "operationId": "health",
                "tags": ["health"],
                "summary": "Whether the database and Redis answer",
                "responses": {
                    "200": _json(_ref("Health"), "both answer"),
                    "503": _json(_ref("Health"), "one does not; it is named"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["meta"],
                "summary": "This document",
                "responses": {"200": _json({"type": "object"}, "the OpenAPI document")},
            }
        },
        "/api/me": {
            "get": {
                "operationId": "me",
                "tags": ["raters"],
                "summary": "The sign-in mode and this browser's rater",
                "responses": {
                    "200": _json(_ref("Me"), "`rater` null when nobody is signed in"),
                    **_errors("429", "503"),
                },
            }
        },
        "/api/signout": {
            "post": {
                "operationId": "signOut",
                "tags": ["raters"],
                "summary": "End this browser's session",
                "requestBody": _body("Empty", required=False),
                "responses": {
                    "204": {"description": "signed out; the session cookie is cleared"},
                    **_errors("401", "403", "429", "503"),
                },
            }
        },
        "/api/conversations": {
            "get": {
                "operationId": "listConversations",
                "tags": ["conversations"],
                "summary": "This rater's conversations, newest first",
                "parameters": [
                    {
                        "name": "q",
                        "in": "query",
                        "required": False,
                        "description": "only those whose title, messages or answers contain "
                        "this text, case-insensitively",
                        "schema": {"type": "string", "maxLength": 200, "pattern": NO_NUL},
                    }
                ],
                "responses": {
                    "200": _json(_ref("ConversationList"), "the conversations"),
                    **_errors("401", "413", "422", "429", "503"),
                },
            },
            "post": {
                "operationId": "createConversation",
                "tags": ["conversations"],
                "summary": "Start a conversation, optionally with a system prompt",
                "requestBody": _body("NewConversation", required=False),
                "responses": {
                    "201": _json(
                        _ref("Conversation"),
                        "created, with no turns",
                        links={
                            "GetConversation": {
                                "operationId": "getConversation",
                                "parameters": conversation_link,
                            },
                            "CreateTurn": {
                                "operationId": "createTurn",
                                "parameters": conversation_link,
                            },
                        },
                    ),
                    **_errors(*_POST_ERRORS, "422"),
                },
            },
        },
        "/api/conversations/{cid}": {
            "parameters": [_path_param("cid", "conversation")],
            "get": {
                "operationId": "getConversation",
                "tags": ["conversations"],
                "summary": "One conversation with its turns",
                "responses": {
                    "200": _json(_ref("Conversation"), "the conversation"),
                    **_errors("401", "404", "429", "503"),
                },
            },
            "patch": {
                "operationId": "renameConversation",
                "tags": ["conversations"],
                "summary": "Give a conversation another title",
                "requestBody": _body("ConversationRename", required=True),
                "responses": {
                    "200": _json(_ref("ConversationSummary"), "renamed"),
                    **_errors(*_POST_ERRORS, "404", "422"),
                },
            },
            "delete": {
                "operationId": "deleteConversation",
                "tags": ["conversations"],
                "summary": "Delete a conversation with its turns, votes, ratings, edits and skips",
                "responses": {
                    "204": {"description": "deleted"},
                    **_errors("401", "404", "409", "429", "503"),
                },
            },
        },
        "/api/conversations/{cid}/turns": {
            "parameters": [_path_param("cid", "conversation")],
            "post": {
                "operationId": "createTurn",
                "tags": ["turns"],
                "summary": "Send a message; its responses stream over /ws/turns/{tid}",
                "requestBody": _body("NewTurn", required=True),
                "responses": {
                    "202": _json(
                        _ref("TurnStarted"),
                        "queued; `slots` is [a] or [a, b]",
                        links={
                            "Reroll": {"operationId": "rerollTurn", "parameters": turn_link},
                            "Feedback": {"operationId": "giveFeedback", "parameters": turn_link},
                            "Cancel": {"operationId": "cancelTurn", "parameters": turn_link},
                            "GetConversation": {
                                "operationId": "getConversation",
                                "parameters": {"cid": "$request.path.cid"},
                            },
                        },
                    ),
                    **_errors(*_POST_ERRORS, "404", "409", "422"),
                },
            },
        },
        "/api/turns/{tid}/reroll": {
            "parameters": [_path_param("tid", "turn")],
            "post": {
                "operationId": "rerollTurn",
                "tags": ["turns"],
                "summary": "Pair a finished single turn: slot a keeps its answer, b is new",
                "requestBody": _body("Empty", required=False),
                "responses": {
                    "202": _json(
                        _ref("TurnStarted"),
                        "slot b queued; `paired` true, `slots` [a, b], `trigger` reroll",
                    ),
                    **_errors(*_POST_ERRORS, "404", "409"),
                },
            },
        },
        "/api/turns/{tid}/feedback": {
            "parameters": [_path_param("tid", "turn")],
            "post": {
                "operationId": "giveFeedback",
                "tags": ["turns"],
                "summary": "Vote on a paired turn whose responses are done; reveals the models",
                "requestBody": _body("NewFeedback", required=True),
                "responses": {
                    "201": _json(_ref("FeedbackRecorded"), "recorded"),
                    **_errors(*_POST_ERRORS, "404", "409", "422"),
                },
            },
            "patch": feedback_patch(),
        },
        "/api/turns/{tid}/cancel": {
            "parameters": [_path_param("tid", "turn")],
            "post": {
                "operationId": "cancelTurn",
                "tags": ["turns"],
                "summary": "Stop the turn's streaming slots; idempotent",
                "requestBody": _body("Empty", required=False),
                "responses": {
                    "202": _json(_ref("Cancelled"), "stopped what was streaming"),
                    **_errors(*_POST_ERRORS, "404"),
                },
            },
        },
        **signal_paths(),
        **campaign_paths(),
        **admin_paths(),
    }


def build_document(config: Any) -> dict[str, Any]:
    """The OpenAPI document of this app, with the limits of `config`."""
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Duet", "version": "1", "description": DESCRIPTION},
        "servers": [{"url": "/"}],
        "tags": [
            {"name": "conversations"},
            {"name": "turns"},
            {"name": "responses"},
            {"name": "raters"},
            {"name": "campaigns"},
            {"name": "admin"},
            {"name": "health"},
            {"name": "meta"},
        ],
        "paths": _paths(),
        "components": {
            "schemas": {**_schemas(config), **campaign_schemas()},
            "responses": _responses(),
        },
    }


@bp.get("/api/openapi.json")
def openapi_document():
    """The OpenAPI document, with this server's limits."""
    return jsonify(build_document(current_app.config))
