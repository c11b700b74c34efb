"""The building blocks of the OpenAPI document: media type, text rules, references, the
error answers every operation shares."""

from __future__ import annotations

from typing import Any

JSON = "application/json"
# Text fields: no NUL (PostgreSQL cannot store it); a message must also not be blank.
NO_NUL = r"^[^\u0000]*$"
NOT_BLANK_NO_NUL = r"^[^\u0000]*[^\s\u0000][^\u0000]*$"
TEXT_RULES = (
    "longer than the limit (in characters) answers 413; NUL (\\u0000) or an unpaired "
    "surrogate answers 422"
)


def ref(name: str) -> dict[str, str]:
    """A reference to a schema of the document."""
    return {"$ref": f"#/components/schemas/{name}"}


def obj(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    """An object schema; further properties are allowed, as the API may add fields."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def json_body(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    """An answer with a JSON body of `schema`."""
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def error_ref(status: str) -> dict[str, str]:
    """A reference to the shared error answer of `status`."""
    return {"$ref": f"#/components/responses/{status}"}


ERRORS = {
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


def responses() -> dict[str, Any]:
    """Every shared error answer, by status."""
    responses = {
        status: json_body(ref("Error"), description) for status, description in ERRORS.items()
    }
    responses["429"]["headers"] = {
        "Retry-After": {"description": "seconds to wait", "schema": {"type": "string"}}
    }
    return responses


def path_param(name: str, what: str) -> dict[str, Any]:
    """A path parameter holding the id of a `what`."""
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": f"the {what} id, 32 hex digits as returned on creation; an unknown "
        "id, or another rater's, answers 404",
        "schema": {"type": "string"},
    }


def request_body(schema: str, required: bool) -> dict[str, Any]:
    """A JSON request body of the named schema."""
    return {"required": required, "content": {JSON: {"schema": ref(schema)}}}


def errors(*statuses: str) -> dict[str, Any]:
    """The shared error answers of `statuses`."""
    return {status: error_ref(status) for status in statuses}


POST_ERRORS = ("400", "401", "403", "413", "415", "429", "503")
