"""Generating one response: model stream in, Redis events and a database row out."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from typing import Any, TypeVar

import requests
from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy.orm import joinedload

from app.extensions import commit_written, db, redis_client
from app.models import DONE, ERROR, STREAMING, Response, utcnow
from app.streaming import protocol
from app.streaming.lifecycle import finish_response
from worker.heartbeat import Heartbeat
from worker.llm import GenerationError, Timeouts, endpoint_session, stream_chat
from worker.publisher import Outbox, Publisher

log = logging.getLogger(__name__)
_shared_lock = threading.Lock()
T = TypeVar("T")


def _shared(name: str, make: Callable[[], T]) -> T:
    """The process's one `name`, made by `make()` on first use, shared by every generation."""
    extensions = current_app.extensions
    with _shared_lock:
        if name not in extensions:
            extensions[name] = make()
        return extensions[name]


def _outage() -> float:
    """How long a generation rides out an unreachable Redis before it fails."""
    return current_app.config["REDIS_OUTAGE_GRACE"]


def _publisher() -> Publisher:
    """The process's token publisher."""
    interval = current_app.config["STREAM_PUBLISH_INTERVAL_MS"] / 1000
    return _shared("publisher", lambda: Publisher(redis_client.get(), interval, _outage()))


def _session() -> requests.Session:
    """The process's HTTP session: connections to the endpoints outlive a generation."""
    return _shared("endpoint_session", endpoint_session)


def _timeouts() -> Timeouts:
    config = current_app.config
    return Timeouts(
        connect=config["GENERATION_CONNECT_TIMEOUT"],
        read=config["GENERATION_READ_TIMEOUT"],
        total=config["GENERATION_TOTAL_TIMEOUT"],
    )


def _ids(response: Response, attempt: int) -> dict:
    """The log fields that tie a line to its turn, slot and attempt."""
    return {
        "turn": response.turn_id,
        "slot": response.slot,
        "attempt": attempt,
        "endpoint": response.endpoint_name,
    }


def _endpoint(name: str) -> dict | None:
    return next((e for e in current_app.config["MODEL_ENDPOINTS"] if e["name"] == name), None)


@dataclass(frozen=True)
class _Job:
    """What a generation needs, read before streaming so no database connection is held."""

    ids: dict
    endpoint_name: str
    model: str
    context: list[dict]
    params: dict
    max_tokens: int | None


def generate_response(response_id: str) -> None:
    """Stream `response_id` from its endpoint; the slot ends in exactly one terminal event."""
    # With its turn, for the context: one query, not two, per slot started.
    response = db.session.get(Response, response_id, options=[joinedload(Response.turn)])
    if response is None or response.status != STREAMING:
        return  # ended already (cancelled while queued, or a late duplicate delivery)
    config = current_app.config
    redis = redis_client.get()
    lease_ms = int(config["SLOT_LEASE_SECONDS"] * 1000)
    lease = protocol.new_lease()
    restart = response.started_at is not None
    attempt = protocol.begin_attempt(
        redis,
        response.turn_id,
        response.slot,
        lease_ms=lease_ms,
        ttl=config["STREAM_TTL"],
        max_attempts=config["SLOT_RESTARTS"] + 1,
        restart=restart,
        lease=lease,
    )
    if attempt == 0:
        return  # ended, or another attempt is running it
    if attempt < 0:
        # Redelivered again and again: the task keeps killing its worker. Give up.
        finish_response(response, ERROR, error="the generation kept losing its worker")
        return
    job = _Job(
        ids=_ids(response, attempt),
        endpoint_name=response.endpoint_name,
        model=response.model,
        context=response.turn.context,
        params=dict(response.params or {}),
        max_tokens=response.max_tokens,
    )
    log.info("generation started", extra=job.ids)
    writer = protocol.SlotWriter(
        redis,
        response.turn_id,
        response.slot,
        config["STREAM_TTL"],
        attempt,
        lease_ms,
        lease=lease,
        reset_id=lease if attempt > 1 or restart else "",  # begin_attempt published a reset
    )
    response.started_at = utcnow()
    response.first_token_at = None
    # The commit also hands the connection back: a pool of a few connections serves a
    # worker whose greenlets stream many slots at once. Only this task writes the row until
    # it claims the end, so what is loaded stays true and the end needs no reload.
    commit_written()
    with Heartbeat(writer) as heartbeat:
        _stream_into(response, job, _publisher(), writer, heartbeat)


def _stream_into(
    response: Response,
    job: _Job,
    publisher: Publisher,
    writer: protocol.SlotWriter,
    heartbeat: Heartbeat,
) -> None:
    """Relay the model's chunks into the slot, then end it, whatever happens."""
    outbox: Outbox = publisher.open(writer)
    first_token_at = None
    finish_reason: str | None = None
    status = ERROR
    error: str | None = "the generation stopped unexpectedly"
    superseded = False
    try:
        endpoint = _endpoint(job.endpoint_name)
        if endpoint is None:
            raise GenerationError(f"endpoint {job.endpoint_name!r} is no longer configured")
        chunks = stream_chat(
            endpoint["base_url"],
            job.model,
            job.context,
            api_key=endpoint.get("api_key"),
            params=job.params,
            max_tokens=job.max_tokens,
            timeouts=_timeouts(),
            session=_session(),
        )
        with closing(chunks):  # closing the generator closes the upstream connection
            for chunk in chunks:
                if chunk.text:
                    if heartbeat.lost.is_set() or not publisher.send(outbox, chunk.text):
                        superseded = True  # cancelled, or ended or restarted elsewhere
                        return
                    first_token_at = first_token_at or utcnow()
                if chunk.finish_reason is not None:
                    finish_reason = chunk.finish_reason
        status, error = DONE, None
    except GenerationError as exc:
        error = f"{job.endpoint_name}: {exc}"
        log.warning("generation failed: %s", exc, extra=job.ids)
    except Exception:
        log.exception("generation crashed", extra=job.ids)
        error = "the worker failed while generating this response"
    finally:
        if not superseded:
            try:
                superseded = not publisher.flush(outbox)  # every queued token is written
            except Exception as exc:
                log.warning("tokens could not be published: %s", exc, extra=job.ids)
                status, error = ERROR, "the response could not be streamed (Redis failed)"
        if not superseded:
            ended = _end(
                response,
                writer,
                status,
                content=outbox.text(),
                seq=writer.seq,
                finish_reason=finish_reason,
                error=error,
                token_count=outbox.tokens,
                first_token_at=first_token_at,
            )
            if ended:
                log.info(
                    "generation ended", extra={**job.ids, "status": status, "tokens": writer.seq}
                )


def _end(response: Response, writer: protocol.SlotWriter, status: str, **fields: Any) -> bool:
    """End the slot as its generating attempt, riding out a Redis that is away or came back
    empty (the attempt takes its lease back, and its events, first); False if superseded."""
    deadline = time.monotonic() + _outage()
    while True:
        try:
            if writer.restore() == 0:
                return False  # cancelled, or ended or restarted elsewhere
            return finish_response(response, status, attempt=writer.holder, **fields)
        except RedisError as exc:
            db.session.rollback()
            if time.monotonic() > deadline:
                raise
            log.warning("ending the slot failed, trying again: %s", exc, extra=_writer_ids(writer))
            time.sleep(0.5)


def _writer_ids(writer: protocol.SlotWriter) -> dict:
    """The log fields of a writer's slot and attempt."""
    return {"turn": writer.turn_id, "slot": writer.slot, "attempt": writer.attempt}
