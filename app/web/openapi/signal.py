"""The calls that give more signal per turn (thumbs, edits, retry, skip, a vote explained
later) as OpenAPI schemas and operations, for the document of app/web/openapi/."""

from __future__ import annotations

from typing import Any

from app.vocabulary import RATINGS, SLOTS, TRIGGERS

JSON = "application/json"
_NO_NUL = r"^[^\u0000]*$"
_NOT_BLANK_NO_NUL = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
_TIMESTAMP = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC"}
_NULLABLE_TEXT = {"type": "string", "nullable": True}
_POST_ERRORS = ("400", "401", "403", "404", "413", "415", "429", "503")


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/{status}"} for status in statuses}


def _body(schema: str, required: bool) -> dict[str, Any]:
    return {"required": required, "content": {JSON: {"schema": _ref(schema)}}}


def _param(name: str, what: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"the {what} id (a response's `id` in the turn JSON); an unknown id, "
        "or another rater's, answers 404",
        "schema": {"type": "string"},
    }


def tags_schema(config: Any) -> dict[str, Any]:
    """A list of tags, each from REASON_TAGS."""
    return {
        "type": "array",
        "items": {"type": "string", "enum": list(config["REASON_TAGS"])},
        "description": "each from REASON_TAGS, else 422 `invalid_tags`; repeats count once",
    }


def reason_schema(config: Any) -> dict[str, Any]:
    """An optional free-text reason."""
    return {
        **_NULLABLE_TEXT,
        "maxLength": config["MAX_REASON_CHARS"],
        "pattern": _NO_NUL,
        "description": "blank counts as none; longer than MAX_REASON_CHARS answers 413",
    }


def signal_schemas(config: Any) -> dict[str, Any]:
    """The schemas of the signal calls' bodies and answers."""
    tags = tags_schema(config)
    rating = {"type": "string", "enum": list(RATINGS)}
    return {
        "Rating": _obj(
            {"rating": rating, "tags": tags, "reason": _NULLABLE_TEXT, "created_at": _TIMESTAMP},
            ["rating", "tags", "reason", "created_at"],
        )
        | {"description": "a thumbs rating; it never names the model"},
        "RatingRecorded": {
            "allOf": [_ref("Rating"), _obj({"response_id": {"type": "string"}}, ["response_id"])]
        },
        "NewRating": _obj(
            {"rating": rating, "tags": tags, "reason": reason_schema(config)}, ["rating"]
        ),
        "Edit": _obj(
            {"id": {"type": "string"}, "content": {"type": "string"}, "created_at": _TIMESTAMP},
            ["id", "content", "created_at"],
        )
        | {"description": "a corrected answer; the latest one continues the conversation"},
        "EditRecorded": {
            "allOf": [_ref("Edit"), _obj({"response_id": {"type": "string"}}, ["response_id"])]
        },
        "NewEdit": _obj(
            {
                "content": {
                    "type": "string",
                    "minLength": 1,
                    "maxLength": config["MAX_EDIT_CHARS"],
                    "pattern": _NOT_BLANK_NO_NUL,
                    "description": "the corrected answer, not blank and not the answer "
                    "itself (422); longer than MAX_EDIT_CHARS answers 413",
                }
            },
            ["content"],
        ),
        "Skip": _obj(
            {"reason": _NULLABLE_TEXT, "created_at": _TIMESTAMP}, ["reason", "created_at"]
        ),
        "SkipRecorded": {
            "allOf": [_ref("Skip"), _obj({"turn_id": {"type": "string"}}, ["turn_id"])]
        },
        "NewSkip": _obj({"reason": reason_schema(config)}),
        "FeedbackUpdate": _obj(
            {
                "reason": {**reason_schema(config), "description": "null or blank clears it"},
                "tags": {**tags, "description": "replaces the vote's tags; each from REASON_TAGS"},
            }
        )
        | {"description": "a field left out stays as it was"},
        "RetryStarted": _obj(
            {
                "id": {"type": "string", "description": "the turn id, for /ws/turns/{tid}"},
                "paired": {"type": "boolean"},
                "slots": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(SLOTS)},
                    "minItems": 1,
                    "maxItems": 2,
                    "description": "the slots that start again",
                },
                "trigger": {"type": "string", "enum": list(TRIGGERS)},
            },
            ["id", "paired", "slots", "trigger"],
        ),
    }


def feedback_patch() -> dict[str, Any]:
    """PATCH /api/turns/{tid}/feedback, beside its POST."""
    return {
        "operationId": "explainFeedback",
        "tags": ["turns"],
        "summary": "Change the reason and tags of one's vote, within FEEDBACK_EDIT_SECONDS",
        "requestBody": _body("FeedbackUpdate", required=True),
        "responses": {
            "200": _json(_ref("FeedbackRecorded"), "changed; the models stay revealed"),
            **_errors(*_POST_ERRORS, "409", "422"),
        },
    }


def signal_paths() -> dict[str, Any]:
    """The signal calls other than the feedback PATCH."""
    response, turn = [_param("rid", "response")], [_param("tid", "turn")]
    return {
        "/api/responses/{rid}/rating": {
            "parameters": response,
            "post": {
                "operationId": "rateResponse",
                "tags": ["responses"],
                "summary": "Thumbs up or down on a done answer, single or paired; once per rater",
                "requestBody": _body("NewRating", required=True),
                "responses": {
                    "201": _json(_ref("RatingRecorded"), "recorded; no model is named"),
                    **_errors(*_POST_ERRORS, "409", "422"),
                },
            },
        },
        "/api/responses/{rid}/edit": {
            "parameters": response,
            "post": {
                "operationId": "editResponse",
                "tags": ["responses"],
                "summary": "Correct a done answer; later turns continue with the latest edit",
                "requestBody": _body("NewEdit", required=True),
                "responses": {
                    "201": _json(_ref("EditRecorded"), "stored"),
                    **_errors(*_POST_ERRORS, "409", "422"),
                },
            },
        },
        "/api/turns/{tid}/retry": {
            "parameters": turn,
            "post": {
                "operationId": "retryTurn",
                "tags": ["turns"],
                "summary": "Start again every slot that ended in error or cancelled; the "
                "socket sends `reset`, then the new tokens (open it anew)",
                "requestBody": _body("Empty", required=False),
                "responses": {
                    "202": _json(_ref("RetryStarted"), "queued"),
                    **_errors(*_POST_ERRORS, "409"),
                },
            },
        },
        "/api/turns/{tid}/skip": {
            "parameters": turn,
            "post": {
                "operationId": "skipTurn",
                "tags": ["turns"],
                "summary": "Decline to vote on a pair; counted, never exported as a preference",
                "requestBody": _body("NewSkip", required=False),
                "responses": {
                    "201": _json(_ref("SkipRecorded"), "recorded; the models stay hidden"),
                    **_errors(*_POST_ERRORS, "409", "422"),
                },
            },
        },
    }
