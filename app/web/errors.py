"""Errors answered as JSON on the API: a machine code and a human message, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from kombu.exceptions import OperationalError as BrokerError
from redis.exceptions import RedisError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from app.errors import ApiError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_response(status: int, code: str, message: str):
    """The JSON body and status of an error."""
    return jsonify(error={"code": code, "message": message}), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not (request.path + "/").startswith("/api/") and exc.code == 404:
            return exc
        code = _HTTP_CODES.get(exc.code or 500, "http_error")
        message = exc.description or exc.name
        if exc.code == 429:
            message = f"Too many requests (at most {exc.description}); wait a moment and retry."
        if exc.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            message = f"The request body is larger than the {limit:,}-byte limit."
        body, status = error_response(exc.code or 500, code, message)
        for name, value in exc.get_headers():  # Allow on a 405, Retry-After on a 429, ...
            if name.lower() != "content-type":
                body.headers[name] = value
        return body, status

    @app.errorhandler(RedisError)
    @app.errorhandler(BrokerError)  # Celery could not queue a task: Redis is down
    @app.errorhandler(OperationalError)
    def _unavailable(exc: Exception):
        log.error("backing service unavailable on %s %s: %r", request.method, request.path, exc)
        return error_response(
            503, "unavailable", "Duet cannot reach its database or Redis; try again shortly."
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "Something went wrong on our side.")
