"""Ending a response's slot: one terminal status in the database, one terminal event in Redis."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app

from app import streams
from app.extensions import db, redis_client
from app.models import CANCELLED, DONE, ERROR, STREAMING, Response, utcnow


def _ttl() -> int:
    return current_app.config["STREAM_TTL"]


def finish_response(
    response: Response,
    status: str,
    *,
    content: str | None = None,
    seq: int | None = None,
    finish_reason: str | None = None,
    error: str | None = None,
    token_count: int | None = None,
) -> bool:
    """End `response` with `status` unless someone else already did; True if this call ended it.

    The database is committed before the event is published, so a client that reacts
    to `done` (by voting, say) finds the response finished.
    """
    redis = redis_client.get()
    turn_id, slot = response.turn_id, response.slot
    if not streams.claim_terminal(redis, turn_id, slot, _ttl()):
        return False
    if content is None or seq is None:
        # Ended from outside the generating task: what was streamed is what the client saw.
        content, seq = streams.buffered_text(redis, turn_id, slot)
    response.status = status
    response.content = content
    response.finish_reason = finish_reason
    response.error = error
    response.finished_at = utcnow()
    if token_count is not None:
        response.token_count = token_count
    db.session.commit()
    streams.emit_terminal(redis, turn_id, terminal_event(response, seq), _ttl())
    return True


def terminal_event(response: Response, seq: int) -> dict:
    """The terminal event matching a finished response's status."""
    if response.status == DONE:
        return streams.done_event(response.slot, seq, response.finish_reason)
    if response.status == CANCELLED:
        return streams.cancelled_event(response.slot)
    return streams.error_event(response.slot, response.error or "the generation failed")


def replay_from_database(response: Response) -> list[dict]:
    """Events that rebuild a finished response whose Redis buffer has expired."""
    if response.status == STREAMING:
        return []
    events = [streams.token_event(response.slot, 1, response.content)] if response.content else []
    return [*events, terminal_event(response, len(events))]


def reap_stuck(responses: list[Response]) -> None:
    """End slots that can no longer finish by themselves (watchdog, run by idle relays).

    A slot no worker picked up within GENERATION_QUEUE_TIMEOUT ends in `error`; so does a
    started slot that outlived the total generation timeout, a worker having died with it.
    """
    config = current_app.config
    redis = redis_client.get()
    now = utcnow()
    for response in responses:
        db.session.refresh(response)
        if response.status != STREAMING:
            # The database says it ended; if its ender died before publishing, publish now
            # (emit_terminal does nothing when the event is out already).
            _, seq = streams.buffered_text(redis, response.turn_id, response.slot)
            streams.emit_terminal(redis, response.turn_id, terminal_event(response, seq), _ttl())
            continue
        queued = _aware(response.queued_at)
        if response.started_at is None:
            limit = timedelta(seconds=config["GENERATION_QUEUE_TIMEOUT"])
            if now - queued > limit:
                finish_response(
                    response,
                    ERROR,
                    error=f"no worker started the generation within {limit.seconds} s",
                )
            continue
        limit = timedelta(seconds=config["GENERATION_TOTAL_TIMEOUT"] + 60)
        if now - _aware(response.started_at) > limit:
            finish_response(response, ERROR, error="the worker generating this response was lost")


def _aware(moment):
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)
