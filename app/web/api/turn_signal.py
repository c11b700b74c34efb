"""Routes for more signal on one turn: retry failed slots, skip a pair, explain a vote later."""

from __future__ import annotations

from flask import current_app, jsonify

from app.chat.ownership import own_turn
from app.chat.retry import retry_turn
from app.chat.signal import UNCHANGED, skip_turn, update_feedback
from app.web.api import bp, generation_limit
from app.web.api.body import json_body, text_field
from app.web.api.serializers import feedback_json, model_identity, skip_json
from app.web.api.tags import tags_field
from app.web.fairness import Admission
from app.web.identity import rater_id


@bp.post("/turns/<tid>/retry")
@generation_limit
def retry(tid: str):
    """Start again every slot that failed or was stopped; the socket sends `reset`, then
    the new attempt's tokens."""
    turn = own_turn(tid, rater_id())
    json_body()
    with Admission() as admission:
        slots = retry_turn(turn, admit=admission)
    return jsonify(id=turn.id, paired=turn.paired, slots=slots, trigger=turn.trigger), 202


@bp.post("/turns/<tid>/skip")
def skip(tid: str):
    """Decline to vote on a pair, with an optional reason; counted, never exported."""
    owner = rater_id()
    turn = own_turn(tid, owner)
    data = json_body()
    reason = text_field(data, "reason", current_app.config["MAX_REASON_CHARS"])
    return jsonify(turn_id=turn.id, **skip_json(skip_turn(turn, owner, reason))), 201


@bp.patch("/turns/<tid>/feedback")
def explain_feedback(tid: str):
    """Change the reason and tags of one's vote, within FEEDBACK_EDIT_SECONDS of casting it."""
    owner = rater_id()
    turn = own_turn(tid, owner)
    data = json_body()
    limit = current_app.config["MAX_REASON_CHARS"]
    reason = text_field(data, "reason", limit) if "reason" in data else UNCHANGED
    tags = tags_field(data) if "tags" in data else UNCHANGED
    vote = update_feedback(turn, owner, reason, tags)
    responses = [{"slot": r.slot, **model_identity(r)} for r in turn.responses]
    return jsonify(**feedback_json(vote), turn_id=turn.id, responses=responses), 200
