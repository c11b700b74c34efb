"""Errors a client caused or can act on: a status, a machine code and a human message.

The message is in the request's language (Flask-Babel's gettext at the raise site); the
code never changes with the language.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l


class ApiError(Exception):
    """An error the client caused or can act on, answered as JSON with `status`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# Whole sentences, not "No such %(what)s": other languages agree their words with the noun.
_NOT_FOUND = {
    "conversation": _l("No such conversation."),
    "turn": _l("No such turn."),
    "response": _l("No such response."),
    "campaign": _l("No such campaign."),
    "conversation or turn": _l("No such conversation or turn."),
}


def not_found(what: str = "conversation or turn") -> ApiError:
    """The answer for anything unknown or belonging to another client."""
    known = _NOT_FOUND.get(what)
    return ApiError(404, "not_found", str(known) if known else _("No such %(what)s.", what=what))
