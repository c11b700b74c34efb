"""Retrying a turn's failed or stopped slots: each starts again from scratch."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult, update

from app.errors import ApiError
from app.extensions import db, redis_client
from app.models import CANCELLED, ERROR, STREAMING, Response, Turn, utcnow
from app.streaming import protocol
from app.streaming.enqueue import enqueue
from app.streaming.lifecycle import finish_response

log = logging.getLogger(__name__)
RETRYABLE = (ERROR, CANCELLED)
# What a retried response forgets of its last attempt.
_FRESH = {
    "status": STREAMING,
    "content": "",
    "finish_reason": None,
    "error": None,
    "token_count": 0,
    "started_at": None,  # so the watchdog treats it as queued, not as a worker lost
    "first_token_at": None,
    "finished_at": None,
}
_KEPT = (*_FRESH, "queued_at")
_REOPENED, _TAKEN, _WINDING_DOWN = "reopened", "taken", "winding down"


def retry_turn(turn: Turn, admit: Callable[[list[Response]], None] | None = None) -> list[str]:
    """Start every slot of `turn` that ended in `error` or `cancelled` again; the slots.

    The row goes back to `streaming` first, then the slot is reopened in Redis (its buffer
    becomes a `reset`), then queued: in that order a watchdog never sees an ended row with
    an open slot and ends it again, and a socket opened after the answer sees the reset
    and the new attempt's tokens. 409 `nothing_to_retry` when no slot ended that way.
    """
    for response in turn.responses:
        db.session.refresh(response)
    slots = [r for r in turn.responses if r.status in RETRYABLE]
    if not slots:
        raise ApiError(
            409,
            "nothing_to_retry",
            _("No answer of this turn failed or was stopped; none to retry."),
        )
    if admit is not None:
        admit(slots)  # counts against the generation caps, as a new message or a re-roll
    outcomes = {r.id: _reopen(r) for r in slots}
    reopened = [r for r in slots if outcomes[r.id] == _REOPENED]
    if not reopened:
        if _WINDING_DOWN in outcomes.values():
            raise ApiError(
                409,
                "still_stopping",
                _("The stopped answer is still winding down; retry it in a few seconds."),
            )
        raise ApiError(409, "nothing_to_retry", _("These answers are being retried already."))
    try:
        enqueue(reopened)
    except Exception:
        # Not queued (the broker is down): end them again, so nothing waits for a worker.
        for response in reopened:
            finish_response(response, ERROR, error="the retry could not be queued")
        raise
    return [r.slot for r in reopened]


def _reopen(response: Response) -> str:
    """Reset one ended response for a new attempt: _REOPENED, or _TAKEN when another call
    got it first, or _WINDING_DOWN when Redis still holds a stopped attempt (the row is then
    put back as it was)."""
    before = {name: getattr(response, name) for name in _KEPT}
    changed = cast(
        CursorResult,
        db.session.execute(
            update(Response)
            .where(Response.id == response.id, Response.status.in_(RETRYABLE))
            .values(**_FRESH, queued_at=utcnow())
            .execution_options(synchronize_session=False)
        ),
    ).rowcount
    db.session.commit()
    if not changed:
        return _TAKEN  # a retry at the same moment took it
    config = current_app.config
    state = protocol.reopen_slot(
        redis_client.get(),
        response.turn_id,
        response.slot,
        ttl=config["STREAM_TTL"],
        max_attempts=config["SLOT_RESTARTS"] + 1,
    )
    if state != 1:
        log.info(
            "retry refused by the slot's state",
            extra={"turn": response.turn_id, "slot": response.slot, "state": state},
        )
        db.session.execute(
            update(Response)
            .where(Response.id == response.id, Response.status == STREAMING)
            .values(**before)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        db.session.refresh(response)
        return _WINDING_DOWN
    db.session.refresh(response)
    return _REOPENED
