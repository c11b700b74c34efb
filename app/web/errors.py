"""Errors answered as JSON on the API: a machine code and a human message, never a traceback."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
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

# Werkzeug's own descriptions are English only; these are in the request's language.
_HTTP_MESSAGES = {
    400: _l("The request could not be understood."),
    404: _l("There is nothing at this address."),
    405: _l("This method is not allowed here; the Allow header lists those that are."),
    415: _l("This kind of request body is not accepted."),
}


def error_response(status: int, code: str, message: str):
    """The JSON body and status of an error."""
    return jsonify(error={"code": code, "message": message}), status


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, str(exc.message))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if not (request.path + "/").startswith("/api/") and exc.code == 404:
            return exc
        code = _HTTP_CODES.get(exc.code or 500, "http_error")
        message = exc.description or exc.name
        if exc.code in _HTTP_MESSAGES and exc.description == type(exc).description:
            message = str(_HTTP_MESSAGES[exc.code])  # werkzeug's stock text, not a specific one
        if exc.code == 429:  # the description is the limit, "10 per 1 minute"
            message = _(
                "Too many requests (at most %(limit)s); wait a moment and retry.",
                limit=exc.description,
            )
        if exc.code == 413:
            limit = f"{app.config['MAX_CONTENT_LENGTH']:,}"
            message = _("The request body is larger than the %(limit)s-byte limit.", limit=limit)
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
            503, "unavailable", _("Duet cannot reach its database or Redis; try again shortly.")
        )

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unexpected error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", _("Something went wrong on our side."))
