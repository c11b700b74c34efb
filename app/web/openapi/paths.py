"""The operations of the OpenAPI document, by path."""

from __future__ import annotations

from typing import Any

from app.web.admin.openapi_paths import admin_paths
from app.web.openapi.campaigns import campaign_paths
from app.web.openapi.parts import (
    NO_NUL,
    POST_ERRORS,
    errors,
    json_body,
    path_param,
    ref,
    request_body,
)
from app.web.openapi.signal import feedback_patch, signal_paths


def paths() -> dict[str, Any]:
    """Every operation of the API, by path."""
    conversation_link = {"cid": "$response.body#/id"}
    turn_link = {"tid": "$response.body#/id"}
    return {
        "/healthz": {
            "get": {
                "operationId": "health",
                "tags": ["health"],
                "summary": "Whether the database and Redis answer",
                "responses": {
                    "200": json_body(ref("Health"), "both answer"),
                    "503": json_body(ref("Health"), "one does not; it is named"),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "tags": ["meta"],
                "summary": "This document",
                "responses": {"200": json_body({"type": "object"}, "the OpenAPI document")},
            }
        },
        "/api/me": {
            "get": {
                "operationId": "me",
                "tags": ["raters"],
                "summary": "The sign-in mode and this browser's rater",
                "responses": {
                    "200": json_body(ref("Me"), "`rater` null when nobody is signed in"),
                    **errors("429", "503"),
                },
            }
        },
        "/api/signout": {
            "post": {
                "operationId": "signOut",
                "tags": ["raters"],
                "summary": "End this browser's session",
                "requestBody": request_body("Empty", required=False),
                "responses": {
                    "204": {"description": "signed out; the session cookie is cleared"},
                    **errors("401", "403", "429", "503"),
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
                    "200": json_body(ref("ConversationList"), "the conversations"),
                    **errors("401", "413", "422", "429", "503"),
                },
            },
            "post": {
                "operationId": "createConversation",
                "tags": ["conversations"],
                "summary": "Start a conversation, optionally with a system prompt",
                "requestBody": request_body("NewConversation", required=False),
                "responses": {
                    "201": json_body(
                        ref("Conversation"),
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
                    **errors(*POST_ERRORS, "422"),
                },
            },
        },
        "/api/conversations/{cid}": {
            "parameters": [path_param("cid", "conversation")],
            "get": {
                "operationId": "getConversation",
                "tags": ["conversations"],
                "summary": "One conversation with its turns",
                "responses": {
                    "200": json_body(ref("Conversation"), "the conversation"),
                    **errors("401", "404", "429", "503"),
                },
            },
            "patch": {
                "operationId": "renameConversation",
                "tags": ["conversations"],
                "summary": "Give a conversation another title",
                "requestBody": request_body("ConversationRename", required=True),
                "responses": {
                    "200": json_body(ref("ConversationSummary"), "renamed"),
                    **errors(*POST_ERRORS, "404", "422"),
                },
            },
            "delete": {
                "operationId": "deleteConversation",
                "tags": ["conversations"],
                "summary": "Delete a conversation with its turns, votes, ratings, edits and skips",
                "responses": {
                    "204": {"description": "deleted"},
                    **errors("401", "404", "409", "429", "503"),
                },
            },
        },
        "/api/conversations/{cid}/turns": {
            "parameters": [path_param("cid", "conversation")],
            "post": {
                "operationId": "createTurn",
                "tags": ["turns"],
                "summary": "Send a message; its responses stream over /ws/turns/{tid}",
                "requestBody": request_body("NewTurn", required=True),
                "responses": {
                    "202": json_body(
                        ref("TurnStarted"),
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
                    **errors(*POST_ERRORS, "404", "409", "422"),
                },
            },
        },
        "/api/turns/{tid}/reroll": {
            "parameters": [path_param("tid", "turn")],
            "post": {
                "operationId": "rerollTurn",
                "tags": ["turns"],
                "summary": "Pair a finished single turn: slot a keeps its answer, b is new",
                "requestBody": request_body("Empty", required=False),
                "responses": {
                    "202": json_body(
                        ref("TurnStarted"),
                        "slot b queued; `paired` true, `slots` [a, b], `trigger` reroll",
                    ),
                    **errors(*POST_ERRORS, "404", "409"),
                },
            },
        },
        "/api/turns/{tid}/feedback": {
            "parameters": [path_param("tid", "turn")],
            "post": {
                "operationId": "giveFeedback",
                "tags": ["turns"],
                "summary": "Vote on a paired turn whose responses are done; reveals the models",
                "requestBody": request_body("NewFeedback", required=True),
                "responses": {
                    "201": json_body(ref("FeedbackRecorded"), "recorded"),
                    **errors(*POST_ERRORS, "404", "409", "422"),
                },
            },
            "patch": feedback_patch(),
        },
        "/api/turns/{tid}/cancel": {
            "parameters": [path_param("tid", "turn")],
            "post": {
                "operationId": "cancelTurn",
                "tags": ["turns"],
                "summary": "Stop the turn's streaming slots; idempotent",
                "requestBody": request_body("Empty", required=False),
                "responses": {
                    "202": json_body(ref("Cancelled"), "stopped what was streaming"),
                    **errors(*POST_ERRORS, "404"),
                },
            },
        },
        **signal_paths(),
        **campaign_paths(),
        **admin_paths(),
    }
