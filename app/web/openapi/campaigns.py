"""The campaign calls as OpenAPI operations and schemas, for the document of app/web/openapi/."""

from __future__ import annotations

from typing import Any

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _errors(*statuses: str) -> dict[str, Any]:
    return {status: {"$ref": f"#/components/responses/{status}"} for status in statuses}


_COUNT = {"type": "integer", "minimum": 0}
_PROGRESS = {
    "id": {"type": "string"},
    "name": {"type": "string"},
    "items": {**_COUNT, "description": "items in the campaign"},
    "rated": {**_COUNT, "description": "items with all their `overlap` votes"},
    "mine": {**_COUNT, "description": "items this rater has voted on"},
    "votes": {**_COUNT, "description": "votes cast on the campaign's items"},
    "overlap": {"type": "integer", "minimum": 1, "description": "raters per item (K)"},
}


def campaign_schemas() -> dict[str, Any]:
    """CampaignList and NextItem."""
    campaign = {
        "type": "object",
        "properties": {
            **_PROGRESS,
            "guidelines": {
                "type": "string",
                "nullable": True,
                "description": "markdown for the raters, shown before they start",
            },
            "created_at": {"type": "string", "format": "date-time"},
        },
        "required": ["id", "name", "guidelines", "items", "rated", "mine"],
    }
    item = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "prompt": {"type": "string", "description": "the user message the pair answers"},
            "system_prompt": {"type": "string", "nullable": True},
            "position": {"type": "integer", "minimum": 1, "description": "in the campaign"},
            "votes": {**_COUNT, "description": "raters who have voted on it so far"},
        },
        "required": ["id", "prompt", "system_prompt"],
    }
    return {
        "CampaignList": {
            "type": "object",
            "properties": {"campaigns": {"type": "array", "items": campaign}},
            "required": ["campaigns"],
        },
        "NextItem": {
            "type": "object",
            "properties": {
                "item": item,
                "turn": _ref("TurnStarted"),
                "campaign": {"type": "object", "properties": _PROGRESS},
                "expires_at": {
                    "type": "string",
                    "format": "date-time",
                    "description": "without a vote (or skip) by then, the item may go to "
                    "another rater (CAMPAIGN_ASSIGNMENT_TIMEOUT)",
                },
            },
            "required": ["item", "turn"],
        },
    }


def campaign_paths() -> dict[str, Any]:
    """`GET /api/campaigns` and `POST /api/campaigns/{campaign_id}/next`."""
    turn_link = {"tid": "$response.body#/turn/id"}
    return {
        "/api/campaigns": {
            "get": {
                "operationId": "listCampaigns",
                "tags": ["campaigns"],
                "summary": "The open campaigns, with their progress and this rater's votes",
                "responses": {
                    "200": {
                        "description": "the open campaigns",
                        "content": {JSON: {"schema": _ref("CampaignList")}},
                    },
                    **_errors("401", "429", "503"),
                },
            }
        },
        "/api/campaigns/{campaign_id}/next": {
            "parameters": [
                {
                    "name": "campaign_id",
                    "in": "path",
                    "required": True,
                    "description": "the campaign id from GET /api/campaigns; an unknown one "
                    "answers 404",
                    "schema": {"type": "string"},
                }
            ],
            "post": {
                "operationId": "nextCampaignItem",
                "tags": ["campaigns"],
                "summary": "The item this rater should rate next, and its pair's turn",
                "description": "The rater's unfinished item if they have one, else the item "
                "with the fewest votes that still needs one and that they have not voted "
                "on, skipped or been handed. Its pair is generated on its first assignment "
                "and shared by its raters: stream it over /ws/turns/{tid}, vote with "
                "POST /api/turns/{tid}/feedback (one vote per rater), or decline with "
                "POST /api/turns/{tid}/skip.",
                "requestBody": {
                    "required": False,
                    "content": {JSON: {"schema": _ref("Empty")}},
                },
                "responses": {
                    "200": {
                        "description": "an item and its turn",
                        "content": {JSON: {"schema": _ref("NextItem")}},
                        "links": {
                            "Feedback": {"operationId": "giveFeedback", "parameters": turn_link}
                        },
                    },
                    "204": {"description": "nothing is left for this rater"},
                    "409": {
                        "description": "`campaign_closed`; `campaign_misconfigured`: its "
                        "--pair names an endpoint no longer configured",
                        "content": {JSON: {"schema": _ref("Error")}},
                    },
                    **_errors("400", "401", "403", "404", "413", "415", "429", "503"),
                },
            },
        },
    }
