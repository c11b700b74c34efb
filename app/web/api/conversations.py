"""Routes for conversations: create, list (and search), read, rename, delete, and add a turn."""

from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, or_, select

from app.chat.ownership import own_conversation
from app.chat.turns import start_turn
from app.errors import ApiError
from app.extensions import db
from app.models import Conversation, Response, Turn
from app.vocabulary import MODES, STREAMING
from app.web.api import bp, generation_limit
from app.web.api.body import choice_field, json_body, text_field
from app.web.api.serializers import conversation_detail, conversation_summary, turn_started_json
from app.web.fairness import Admission
from app.web.identity import rater_id


@bp.post("/conversations")
def create_conversation():
    """Start a conversation, optionally with a system prompt."""
    data = json_body()
    limit = current_app.config["MAX_SYSTEM_PROMPT_CHARS"]
    conversation = Conversation(
        rater_id=rater_id(), system_prompt=text_field(data, "system_prompt", limit)
    )
    db.session.add(conversation)
    db.session.commit()
    return jsonify(conversation_detail(conversation)), 201


# Longest search (`GET /api/conversations?q=`) and title (`PATCH`, the column's width).
MAX_QUERY_CHARS = 200
MAX_TITLE_CHARS = 200


@bp.get("/conversations")
def list_conversations():
    """This rater's conversations, newest first; with `?q=`, those whose title, messages or
    answers contain it (case-insensitively)."""
    query = (
        select(Conversation)
        .where(Conversation.rater_id == rater_id())
        .order_by(Conversation.created_at.desc(), Conversation.id)
    )
    q = request.args.get("q", "").strip()
    if "\x00" in q:  # PostgreSQL refuses NUL in text
        raise ApiError(422, "invalid_q", _("'q' must not contain NUL characters."))
    if len(q) > MAX_QUERY_CHARS:
        raise ApiError(
            413, "q_too_long", _("'q' is limited to %(n)s characters.", n=MAX_QUERY_CHARS)
        )
    if q:
        query = query.where(_mentions(q))
    conversations = db.session.scalars(query).all()
    return jsonify(conversations=[conversation_summary(c) for c in conversations])


def _mentions(text: str) -> ColumnElement[bool]:
    """A conversation whose title, user messages or answers contain `text` (LIKE wildcards
    in it are taken literally)."""
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    in_turns = select(Turn.id).where(
        Turn.conversation_id == Conversation.id, Turn.content.ilike(pattern, escape="\\")
    )
    in_answers = (
        select(Response.id)
        .join(Turn, Response.turn_id == Turn.id)
        .where(Turn.conversation_id == Conversation.id)
        .where(Response.content.ilike(pattern, escape="\\"))
    )
    return or_(
        Conversation.title.ilike(pattern, escape="\\"), in_turns.exists(), in_answers.exists()
    )


@bp.get("/conversations/<cid>")
def get_conversation(cid: str):
    """One conversation with its turns."""
    conversation = own_conversation(cid, rater_id())
    return jsonify(conversation_detail(conversation))


@bp.patch("/conversations/<cid>")
def rename_conversation(cid: str):
    """Give a conversation another title."""
    conversation = own_conversation(cid, rater_id(), whole=False)
    title = text_field(json_body(), "title", MAX_TITLE_CHARS, required=True)
    conversation.title = " ".join(title.split())  # one line, as the list shows it
    db.session.commit()
    return jsonify(conversation_summary(conversation))


@bp.delete("/conversations/<cid>")
def delete_conversation(cid: str):
    """Delete a conversation with its turns, answers, votes, ratings, edits and skips; 409
    while an answer still streams (its worker would write into a deleted row)."""
    conversation = own_conversation(cid, rater_id())
    if any(r.status == STREAMING for t in conversation.turns for r in t.responses):
        raise ApiError(
            409, "conversation_busy", _("An answer is still being written; stop it first.")
        )
    db.session.delete(conversation)
    db.session.commit()
    return "", 204


@bp.post("/conversations/<cid>/turns")
@generation_limit
def create_turn(cid: str):
    """Send a user message; its one or two responses stream over /ws/turns/<id>."""
    conversation = own_conversation(cid, rater_id(), whole=False)
    data = json_body()
    content = text_field(data, "content", current_app.config["MAX_MESSAGE_CHARS"], required=True)
    mode = choice_field(data, "mode", MODES, "auto")
    with Admission() as admission:
        turn = start_turn(conversation, content, mode, admit=admission)
    return jsonify(turn_started_json(turn)), 202
