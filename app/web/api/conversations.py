"""Routes for conversations: create, list, read, and add a turn."""

from __future__ import annotations

from flask import current_app, jsonify
from sqlalchemy import select

from app.chat.ownership import own_conversation
from app.chat.turns import start_turn
from app.extensions import db
from app.models import Conversation
from app.vocabulary import MODES
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


@bp.get("/conversations")
def list_conversations():
    """This rater's conversations, newest first."""
    query = (
        select(Conversation)
        .where(Conversation.rater_id == rater_id())
        .order_by(Conversation.created_at.desc(), Conversation.id)
    )
    conversations = db.session.scalars(query).all()
    return jsonify(conversations=[conversation_summary(c) for c in conversations])


@bp.get("/conversations/<cid>")
def get_conversation(cid: str):
    """One conversation with its turns."""
    conversation = own_conversation(cid, rater_id())
    return jsonify(conversation_detail(conversation))


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
