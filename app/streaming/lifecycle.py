"""Ending, watching and restarting a response's slot."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from flask import current_app
from redis import Redis

from app.extensions import commit_written, db, redis_client
from app.models import CANCELLED, DONE, STREAMING, Response, utcnow
from app.streaming import protocol
from app.streaming.enqueue import enqueue
from app.streaming.failures import public_message

log = logging.getLogger(__name__)


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
    attempt: int | str | None = None,
    first_token_at: datetime | None = None,
) -> bool:
    """End `response` with `status` unless someone else already did; True if this call ended it.

    `attempt` is the generating task's lease token (`SlotWriter.holder`): it may end the slot
    only while it holds the lease.
    The database is committed before the event is published, so a client that reacts to
    `done` (by voting, say) finds the response finished. The row is changed only once the
    slot is claimed: a change made before would be flushed by the first query and hold
    SQLite's write lock across the Redis round trip of the claim.
    """
    redis = redis_client.get()
    turn_id, slot = response.turn_id, response.slot
    if not protocol.claim_terminal(redis, turn_id, slot, _ttl(), attempt):
        return False
    if content is None or seq is None:
        # Ended from outside the generating task: what was streamed is what the client saw.
        content, seq = protocol.buffered_text(redis, turn_id, slot)
        token_count = seq
    response.status = status
    response.content = content
    response.finish_reason = finish_reason
    response.error = error
    response.finished_at = utcnow()
    if token_count is not None:
        response.token_count = token_count
    if first_token_at is not None:
        response.first_token_at = first_token_at
    commit_written()  # the event below reads what was just written
    protocol.emit_terminal(redis, turn_id, terminal_event(response, seq), _ttl())
    return True


def terminal_event(response: Response, seq: int) -> dict:
    """The terminal event matching a finished response's status; an error's message is in
    plain words that never name the endpoint (the detail stays in the database and log)."""
    if response.status == DONE:
        return protocol.done_event(response.slot, seq, response.finish_reason)
    if response.status == CANCELLED:
        return protocol.cancelled_event(response.slot)
    return protocol.error_event(response.slot, public_message(response.error))


def replay_from_database(response: Response) -> list[dict]:
    """Events that rebuild a finished response whose Redis buffer has expired."""
    if response.status == STREAMING:
        return []
    events = [protocol.token_event(response.slot, 1, response.content)] if response.content else []
    return [*events, terminal_event(response, len(events))]


def watch_slots(responses: list[Response]) -> None:
    """End or restart slots that cannot finish by themselves (run by relays and worker sweeps).

    - Queued before Redis last started (a Redis without persistence lost its message):
      queued once more.
    - Never started within GENERATION_QUEUE_TIMEOUT: `error` (no worker is running).
    - Started, but its lease lapsed (the worker died): queue one new attempt, which
      resets the slot; if none starts within SLOT_RESTART_WAIT, or restarts are used up,
      `error`.
    - Started, but Redis has no trace of it (it restarted empty): its generation, if
      alive, puts its keys back within a lease or two, so wait two leases before taking
      it for lost as above.
    - Ended in the database but its end never published (its ender died in between, or
      Redis lost it): publish it now, after the text if Redis lost that too.
    """
    config = current_app.config
    redis = redis_client.get()
    redis_started: list[datetime] = []  # read once, when a slot waits for a worker
    for response in responses:
        turn_id, slot = response.turn_id, response.slot
        state = protocol.slot_state(redis, turn_id, slot)
        if state.leased and not state.claimed:
            # Streaming, its worker alive: the common case costs no database query. (Only a
            # claimed slot can have ended in the database: every ender claims first.)
            continue
        db.session.refresh(response)
        if response.status != STREAMING:
            _publish_end(redis, response)
            continue
        if state.claimed:
            continue  # being ended right now
        if state.attempts == 0 and response.started_at is not None:
            grace_ms = int(2 * config["SLOT_LEASE_SECONDS"] * 1000)
            if not protocol.orphaned_for(redis, turn_id, slot, grace_ms):
                continue  # Redis restarted empty: give a live generation time to restore it
        if state.attempts == 0 and response.started_at is None:
            redis_started = redis_started or [protocol.redis_started_at(redis)]
            # Within a second either way, clocks differ: a second message does no harm (the
            # lease lets one run), a lost one costs the queue timeout.
            queued = _aware(response.queued_at)
            if queued < redis_started[0] + timedelta(seconds=1) and protocol.claim_requeue(
                redis, turn_id, slot, _ttl()
            ):
                log.warning(
                    "queued again after Redis restarted", extra={"turn": turn_id, "slot": slot}
                )
                enqueue([response])
                continue
            limit = timedelta(seconds=config["GENERATION_QUEUE_TIMEOUT"])
            if utcnow() - _aware(response.queued_at) > limit:
                finish_response(
                    response,
                    "error",
                    error=f"no worker started the generation within {limit.seconds} s",
                )
            continue
        wait_ms = int(config["SLOT_RESTART_WAIT"] * 1000)
        asked = protocol.request_restart(redis, turn_id, slot, wait_ms=wait_ms, ttl=_ttl())
        if asked == -1:
            continue  # a restart is queued; give a worker time to pick it up
        if asked <= config["SLOT_RESTARTS"]:
            log.warning("worker lost; restarting the slot", extra={"turn": turn_id, "slot": slot})
            enqueue([response])
        else:
            finish_response(response, "error", error="the worker generating this response was lost")


def _publish_end(redis: Redis, response: Response) -> None:
    """Publish the end of a slot the database shows ended; when Redis lost the slot's events
    (a restart), its text from the database goes first, so a late socket still gets it."""
    turn_id, slot = response.turn_id, response.slot
    _, seq = protocol.buffered_text(redis, turn_id, slot)
    if seq == 0 and response.content:
        events = replay_from_database(response)[:-1]
        if protocol.refill(redis, turn_id, slot, events, _ttl()):
            seq = len(events)
    protocol.emit_terminal(redis, turn_id, terminal_event(response, seq), _ttl())


def _aware(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
