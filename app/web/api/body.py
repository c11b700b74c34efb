"""Reading and checking JSON request bodies."""

from __future__ import annotations

import json
from typing import Any, Literal, overload

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import RequestEntityTooLarge

from app.errors import ApiError


def json_body() -> dict[str, Any]:
    """The request's JSON object; an empty body counts as `{}`."""
    raw = request.get_data(cache=True)  # raises 413 past a Content-Length over the limit
    _refuse_cut_body(raw)
    if not raw.strip():
        return {}
    if not request.is_json:
        raise ApiError(
            415, "not_json", _("Send the body as JSON with Content-Type: application/json.")
        )
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed_json", _("The request body is not valid JSON.")) from None
    except RecursionError:  # nesting deeper than the parser can follow: still the client's fault
        raise ApiError(400, "malformed_json", _("The request body is nested too deeply.")) from None
    if not isinstance(data, dict):
        raise ApiError(400, "malformed_json", _("The request body must be a JSON object."))
    return data


def _refuse_cut_body(raw: bytes) -> None:
    """413 for a body without Content-Length (chunked) that ran past MAX_CONTENT_LENGTH.

    Werkzeug 3 stops reading such a body at the limit and returns what it read, cut, without
    an error (its LimitedStream.readall), which then reads as malformed JSON. The server
    (gunicorn sets `wsgi.input_terminated`) ends the raw stream at the last chunk, so one
    more byte there means the body went on past the limit.
    """
    limit = request.max_content_length
    if limit is None or request.content_length is not None or len(raw) < limit:
        return
    if request.environ["wsgi.input"].read(1):
        raise RequestEntityTooLarge()


@overload
def text_field(data: dict[str, Any], name: str, limit: int, *, required: Literal[True]) -> str: ...
@overload
def text_field(
    data: dict[str, Any], name: str, limit: int, *, required: bool = False
) -> str | None: ...
def text_field(
    data: dict[str, Any], name: str, limit: int, *, required: bool = False
) -> str | None:
    """A string field: 422 when of the wrong type or empty but required, 413 when too long."""
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise ApiError(422, f"invalid_{name}", _("'%(name)s' is required.", name=name))
        return None
    if not isinstance(value, str):
        raise ApiError(422, f"invalid_{name}", _("'%(name)s' must be a string.", name=name))
    if required and not value.strip():
        raise ApiError(422, f"invalid_{name}", _("'%(name)s' must not be empty.", name=name))
    if len(value) > limit:
        raise ApiError(
            413,
            f"{name}_too_long",
            _(
                "'%(name)s' is %(length)s characters long; the limit is %(limit)s.",
                name=name,
                length=f"{len(value):,}",
                limit=f"{limit:,}",
            ),
        )
    if not storable(value):
        raise ApiError(
            422,
            f"invalid_{name}",
            _(
                "'%(name)s' must not contain NUL characters (\\u0000) or unpaired surrogates.",
                name=name,
            ),
        )
    return value


def storable(text: str) -> bool:
    """Whether every database takes `text`: PostgreSQL refuses NUL, and an unpaired surrogate
    (which JSON's \\u escapes can spell) has no UTF-8 encoding."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def choice_field(
    data: dict[str, Any], name: str, allowed: tuple[str, ...], default: str | None
) -> str:
    """A field that must be one of `allowed`; 422 otherwise."""
    value = data.get(name, default)
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ApiError(
            422,
            f"invalid_{name}",
            _("'%(name)s' must be one of %(options)s.", name=name, options=options),
        )
    return value
