"""The admin calls as OpenAPI operations, for the document of app/web/openapi/."""

from __future__ import annotations

from typing import Any

from app.export.formats import FORMATS
from app.export.selection import TRIGGERS

JSON = "application/json"
_ERROR = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": _ERROR}}}


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


_FLAG = {"type": "string", "enum": ["1", "0", "true", "false", "yes", "no", "on", "off"]}
_TIME = {"type": "string", "description": "ISO 8601 date or date-time; UTC without an offset"}
_ACCESS = {
    "401": _error("`unauthorized`: nobody is signed in, or the rater has been disabled"),
    "403": _error("`forbidden`: the rater is not an admin (or `forbidden_origin`)"),
    "422": _error("`invalid_value`: a query parameter is invalid; the message names it"),
    "429": {"$ref": "#/components/responses/429"},
    "503": {"$ref": "#/components/responses/503"},
}


def _get(operation: str, summary: str, ok: dict[str, Any], params: list) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation,
            "tags": ["admin"],
            "summary": summary,
            "parameters": params,
            "responses": {"200": ok, **_ACCESS},
        }
    }


def admin_paths() -> dict[str, Any]:
    """`/api/admin/leaderboard`, `/api/admin/raters` and `/api/admin/export`."""
    an_object = {"type": "object"}
    leaderboard_params = [
        _query(
            "rounds",
            "bootstrap rounds (default 1000)",
            {"type": "integer", "minimum": 0, "maximum": 100000},
        ),
        _query("seed", "seed of the bootstrap (default 0)", {"type": "integer"}),
        _query("include_reroll", "count re-roll votes in bias, ratings and win rates", _FLAG),
    ]
    export_params = [
        _query("format", "record layout (default trl)", {"type": "string", "enum": list(FORMATS)}),
        _query("since", "only votes cast at or after this time", _TIME),
        _query("until", "only votes cast before this time", _TIME),
        _query("endpoint", "only votes where either response came from it", {"type": "string"}),
        _query(
            "trigger",
            "only votes on turns paired this way",
            {"type": "string", "enum": list(TRIGGERS)},
        ),
        _query("rater", "only the votes of the rater with this name", {"type": "string"}),
        _query(
            "campaign",
            "only the votes on the items of the campaign with this name",
            {"type": "string"},
        ),
        _query(
            "aggregate",
            "`majority`: one pair per item, by a strict majority of its votes (not with raw)",
            {"type": "string", "enum": ["majority"]},
        ),
        _query("exclude_flagged", "leave out the votes of flagged raters", _FLAG),
        _query("unpaired", "with format trl: the same as kto", _FLAG),
        _query("with_edits", "with trl, openai or sharegpt: also a pair per edit", _FLAG),
        _query("first_turns", "only votes, thumbs and edits on first messages", _FLAG),
    ]
    return {
        "/api/admin/leaderboard": _get(
            "adminLeaderboard",
            "The object `flask preferences stats --json` prints with the same options",
            {"description": "the statistics", "content": {JSON: {"schema": an_object}}},
            leaderboard_params,
        ),
        "/api/admin/raters": _get(
            "adminRaters",
            "Each rater's votes, timing, position bias, ties, agreement and flags",
            {
                "description": "as `flask preferences raters --json`",
                "content": {JSON: {"schema": an_object}},
            },
            [],
        ),
        "/api/admin/export": _get(
            "adminExport",
            "The export file as a download, the bytes `flask preferences export` writes",
            {
                "description": "JSON lines, as an attachment",
                "content": {"application/jsonl": {"schema": {"type": "string"}}},
            },
            export_params,
        ),
    }
