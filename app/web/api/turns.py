"""Routes acting on one turn: re-roll, vote, cancel."""

from __future__ import annotations

from flask import current_app, jsonify

from app.chat.ownership import own_turn
from app.chat.turns import cancel_turn, record_feedback, reroll_turn
from app.vocabulary import CHOICES
from app.web.api import bp, generation_limit
from app.web.api.body import choice_field, json_body, text_field
from app.web.api.serializers import feedback_json, model_identity, turn_started_json
from app.web.api.tags import tags_field
from app.web.fairness import Admission
from app.web.identity import rater_id


@bp.post("/turns/<tid>/reroll")
@generation_limit
def reroll(tid: str):
    """Generate a second answer to a finished single turn, to compare with the first."""
    turn = own_turn(tid, rater_id())
    json_body()
    with Admission() as admission:
        turn = reroll_turn(turn, admit=admission)
    return jsonify(turn_started_json(turn)), 202


@bp.post("/turns/<tid>/feedback")
def feedback(tid: str):
    """Record which response of a paired turn is better; reveals the models."""
    owner = rater_id()
    turn = own_turn(tid, owner)
    data = json_body()
    choice = choice_field(data, "choice", CHOICES, None)
    reason = text_field(data, "reason", current_app.config["MAX_REASON_CHARS"])
    vote = record_feedback(turn, owner, choice, reason, tags_field(data))
    responses = [{"slot": r.slot, **model_identity(r)} for r in turn.responses]
    return jsonify(**feedback_json(vote), turn_id=turn.id, responses=responses), 201


@bp.post("/turns/<tid>/cancel")
def cancel(tid: str):
    """Stop the turn's streaming slots; each ends with a `cancelled` event."""
    turn = own_turn(tid, rater_id())
    json_body()
    return jsonify(id=turn.id, cancelled=cancel_turn(turn)), 202
