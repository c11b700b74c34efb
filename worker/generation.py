"""Generating one response: model stream in, Redis events and a database row out."""

from __future__ import annotations

import logging
from contextlib import closing

from flask import current_app

from app import streams
from app.extensions import db, redis_client
from app.models import CANCELLED, DONE, ERROR, STREAMING, Response, utcnow
from app.slots import finish_response
from worker.llm import GenerationError, Timeouts, stream_chat

log = logging.getLogger(__name__)


def _timeouts() -> Timeouts:
    config = current_app.config
    return Timeouts(
        connect=config["GENERATION_CONNECT_TIMEOUT"],
        read=config["GENERATION_READ_TIMEOUT"],
        total=config["GENERATION_TOTAL_TIMEOUT"],
    )


def _endpoint(name: str) -> dict | None:
    return next((e for e in current_app.config["MODEL_ENDPOINTS"] if e["name"] == name), None)


def generate_response(response_id: str) -> None:
    """Stream `response_id` from its endpoint; it ends in exactly one terminal event."""
    response = db.session.get(Response, response_id)
    if response is None or response.status != STREAMING:
        return  # already ended (cancelled while queued, or a duplicate delivery)
    redis = redis_client.get()
    if streams.is_claimed(redis, response.turn_id, response.slot):
        return
    response.started_at = utcnow()
    db.session.commit()

    ttl = current_app.config["STREAM_TTL"]
    writer = streams.SlotWriter(redis, response.turn_id, response.slot, ttl)
    parts: list[str] = []
    tokens = 0
    finish_reason: str | None = None
    status, error = ERROR, "the generation stopped unexpectedly"
    try:
        endpoint = _endpoint(response.endpoint_name)
        if endpoint is None:
            raise GenerationError(f"endpoint {response.endpoint_name!r} is no longer configured")
        chunks = stream_chat(
            endpoint["base_url"],
            response.model,
            response.turn.context,
            api_key=endpoint.get("api_key"),
            params=response.params,
            max_tokens=response.max_tokens,
            timeouts=_timeouts(),
        )
        with closing(chunks):  # closing the generator closes the upstream connection
            for chunk in chunks:
                if chunk.text:
                    if not writer.token(chunk.text):
                        status = CANCELLED  # ended elsewhere (cancel, watchdog): stop here
                        return
                    if not parts:
                        _record_first_token(response)
                    parts.append(chunk.text)
                    tokens += 1
                if chunk.finish_reason is not None:
                    finish_reason = chunk.finish_reason
        status, error = DONE, None
    except GenerationError as exc:
        error = f"{response.endpoint_name}: {exc}"
        log.warning("turn=%s slot=%s generation failed: %s", response.turn_id, response.slot, exc)
    except Exception:
        log.exception("turn=%s slot=%s generation crashed", response.turn_id, response.slot)
        error = "the worker failed while generating this response"
    finally:
        if status is not CANCELLED:
            finish_response(
                response,
                status,
                content="".join(parts),
                seq=writer.seq,
                finish_reason=finish_reason,
                error=error,
                token_count=tokens,
            )


def _record_first_token(response: Response) -> None:
    response.first_token_at = utcnow()
    db.session.commit()
