"""Reading a vote's or rating's tags: each one of REASON_TAGS."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_babel import gettext as _

from app.errors import ApiError


def tags_field(data: dict[str, Any], name: str = "tags") -> list[str]:
    """The list of tags in `data[name]` (none when absent or null), each from REASON_TAGS,
    in the order given, once each; 422 `invalid_tags` otherwise."""
    value = data.get(name)
    if value is None:
        return []
    allowed = current_app.config["REASON_TAGS"]
    if not isinstance(value, list) or not all(isinstance(t, str) and t in allowed for t in value):
        options = ", ".join(repr(t) for t in allowed)
        raise ApiError(
            422,
            "invalid_tags",
            _("'%(name)s' must be a list of tags from %(options)s.", name=name, options=options),
        )
    return list(dict.fromkeys(value))
