"""Routes acting on one response: thumbs up or down, and a corrected answer."""

from __future__ import annotations

from flask import current_app, jsonify

from app.chat.signal import edit_response, own_response, rate_response
from app.vocabulary import RATINGS
from app.web.api import bp
from app.web.api.body import choice_field, json_body, text_field
from app.web.api.serializers import edit_json, rating_json
from app.web.api.tags import tags_field
from app.web.identity import rater_id


@bp.post("/responses/<rid>/rating")
def rate(rid: str):
    """Thumbs up or down on a finished answer, single or paired, once per rater; it names no
    model, so it is safe before a pair's vote."""
    owner = rater_id()
    response = own_response(rid, owner)
    data = json_body()
    rating = choice_field(data, "rating", RATINGS, None)
    tags = tags_field(data)
    reason = text_field(data, "reason", current_app.config["MAX_REASON_CHARS"])
    thumbs = rate_response(response, owner, rating, tags, reason)
    return jsonify(response_id=response.id, **rating_json(thumbs)), 201


@bp.post("/responses/<rid>/edit")
def edit(rid: str):
    """A corrected answer for a finished response; later turns continue with it."""
    owner = rater_id()
    response = own_response(rid, owner)
    data = json_body()
    content = text_field(data, "content", current_app.config["MAX_EDIT_CHARS"], required=True)
    correction = edit_response(response, owner, content)
    return jsonify(response_id=response.id, **edit_json(correction)), 201
