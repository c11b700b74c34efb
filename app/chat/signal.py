"""More signal per turn: thumbs on a response, a corrected answer, a skipped pair, and a
vote's reason and tags edited after the vote."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from app.campaigns.assignment import was_handed
from app.errors import ApiError, not_found
from app.extensions import commit_written, db
from app.models import (
    DONE,
    ERROR,
    STREAMING,
    Conversation,
    Edit,
    Feedback,
    Rating,
    Response,
    Skip,
    Turn,
    utcnow,
)

# Anything "left as it was" in a partial update (PATCH): not None, which clears a reason.
UNCHANGED = object()


@dataclass
class Signal:
    """A rater's thumbs, latest edits (by response id) and skips (by turn id) in a conversation."""

    ratings: dict[str, Rating] = field(default_factory=dict)
    edits: dict[str, Edit] = field(default_factory=dict)
    skips: dict[str, Skip] = field(default_factory=dict)


def read_signal(conversation: Conversation, rater_id: str) -> Signal:
    """What `rater_id` gave in `conversation` besides votes: three queries, however long."""
    signal = Signal()
    if not conversation.turns:
        return signal
    responses = (
        select(Response.id)
        .join(Turn, Turn.id == Response.turn_id)
        .where(Turn.conversation_id == conversation.id)
    )
    for rating in db.session.scalars(
        select(Rating).where(Rating.rater_id == rater_id, Rating.response_id.in_(responses))
    ):
        signal.ratings[rating.response_id] = rating
    edits = select(Edit).where(Edit.rater_id == rater_id, Edit.response_id.in_(responses))
    for edit in db.session.scalars(edits.order_by(Edit.created_at, Edit.id)):
        signal.edits[edit.response_id] = edit  # the latest one stays
    turns = select(Turn.id).where(Turn.conversation_id == conversation.id)
    for skip in db.session.scalars(
        select(Skip).where(Skip.rater_id == rater_id, Skip.turn_id.in_(turns))
    ):
        signal.skips[skip.turn_id] = skip
    return signal


def own_response(response_id: str, rater_id: str) -> Response:
    """The rater's response (of their own conversation, or of a campaign item's turn handed
    to them, as app/chat/ownership.py's find_turn allows), or a 404 exactly like an unknown id."""
    if not rater_id or len(response_id) > 64 or "\x00" in response_id:
        raise not_found("response")
    response = db.session.get(
        Response, response_id, options=[joinedload(Response.turn).joinedload(Turn.conversation)]
    )
    if response is None:
        raise not_found("response")
    turn = response.turn
    if turn.conversation.rater_id != rater_id and not was_handed(turn.id, rater_id):
        raise not_found("response")
    return response


def _require_done(response: Response, only: str) -> None:
    db.session.refresh(response)
    if response.status != DONE:
        if response.status == STREAMING:
            state = _("This answer is still streaming.")
        elif response.status == ERROR:
            state = _("This answer failed.")
        else:
            state = _("This answer was stopped.")
        raise ApiError(409, "not_finished", f"{state} {only}")


def rate_response(
    response: Response, rater_id: str, rating: str, tags: list[str], reason: str | None
) -> Rating:
    """Thumbs up or down on a finished response, once per rater."""
    _require_done(response, _("Only a finished answer can be rated."))
    thumbs = Rating(
        response_id=response.id, rater_id=rater_id, rating=rating, tags=tags, reason=reason
    )
    db.session.add(thumbs)
    _commit_or_conflict("already_rated", _("You have rated this answer already."))
    return thumbs


def edit_response(response: Response, rater_id: str, content: str) -> Edit:
    """A corrected answer for a finished response; the latest one continues the conversation."""
    _require_done(response, _("Only a finished answer can be corrected."))
    if content == response.content:
        raise ApiError(422, "invalid_content", _("The corrected answer is the same as the answer."))
    edit = Edit(response_id=response.id, rater_id=rater_id, content=content)
    db.session.add(edit)
    commit_written()
    return edit


def skip_turn(turn: Turn, rater_id: str, reason: str | None) -> Skip:
    """The rater declines to vote on a pair (any state: a failed pair may be skipped too)."""
    if not turn.paired:
        raise ApiError(409, "not_paired", _("Only a turn with two answers can be skipped."))
    db.session.refresh(turn)
    if turn.vote_of(rater_id) is not None:  # a campaign turn's other raters' votes do not count
        raise ApiError(
            409, "already_rated", _("This turn has a vote already; it cannot be skipped.")
        )
    skip = Skip(turn_id=turn.id, rater_id=rater_id, reason=reason)
    db.session.add(skip)
    _commit_or_conflict("already_skipped", _("You have skipped this turn already."))
    return skip


def update_feedback(turn: Turn, rater_id: str, reason: object, tags: object) -> Feedback:
    """Change the reason and tags of the rater's own vote, within FEEDBACK_EDIT_SECONDS of
    casting it (choose first, then say why). UNCHANGED leaves a field as it was."""
    db.session.refresh(turn)
    vote = turn.vote_of(rater_id)
    if vote is None:
        raise ApiError(409, "not_rated", _("You have not voted on this turn."))
    window = current_app.config["FEEDBACK_EDIT_SECONDS"]
    if utcnow() - _aware(vote.created_at) > timedelta(seconds=window):
        if window % 60 == 0:
            message = _("A vote can be explained only within %(n)s minutes of it.", n=window // 60)
        else:
            message = _("A vote can be explained only within %(n)s seconds of it.", n=window)
        raise ApiError(409, "edit_window_closed", message)
    if reason is not UNCHANGED:
        vote.reason = reason  # type: ignore[assignment]  # str | None, checked by the route
    if tags is not UNCHANGED:
        vote.tags = list(tags)  # type: ignore[call-overload]  # list[str], checked by the route
    commit_written()
    return vote


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _commit_or_conflict(code: str, message: str) -> None:
    """Commit; a lost race on a unique constraint (once per rater) becomes a 409."""
    try:
        commit_written()
    except IntegrityError:
        db.session.rollback()
        raise ApiError(409, code, message) from None
