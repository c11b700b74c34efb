"""What a failed slot tells the client: plain words that never name the endpoint or model.

The stored error (`Response.error`) is the detail an operator needs, with the endpoint's
name and what it answered (worker/generation.py writes `"<endpoint>: <what happened>"`);
it goes to the log and to the `raw` export only. Before the vote the client must not learn
which model sat in which slot, so the API's `error` field and the websocket's `error`
event carry one of a few fixed sentences instead, chosen from the kind of failure.
"""

from __future__ import annotations

CUT_OFF = "The model's answer was cut off."
UNREACHABLE = "The model could not be reached."
TOO_SLOW = "The model took too long to answer."
REFUSED = "The model answered with an error."
UNREADABLE = "The model's answer could not be read."
NOT_STARTED = "No server was free to write the answer."
LOST = "The answer was lost to a server problem."
FAILED = "The answer could not be generated."

# Fragments of the worker's and watchdog's error texts (worker/llm.py, worker/generation.py,
# app/streaming/lifecycle.py), in the order they are tried: the first match names the kind.
_KINDS: tuple[tuple[str, str], ...] = (
    ("no worker started", NOT_STARTED),
    ("did not answer within", TOO_SLOW),
    ("went silent", TOO_SLOW),
    ("exceeded the", TOO_SLOW),
    ("could not connect", UNREACHABLE),
    ("closed the connection without answering", UNREACHABLE),
    ("no longer configured", UNREACHABLE),
    ("the request to", UNREACHABLE),
    ("answered http", REFUSED),
    ("reported an error", REFUSED),
    ("without a finish_reason", CUT_OFF),
    ("before the answer was complete", CUT_OFF),
    ("dropped mid-stream", CUT_OFF),
    ("in the middle of a utf-8 character", CUT_OFF),
    ("malformed", UNREADABLE),
    ("invalid utf-8", UNREADABLE),
    ("instead of an event stream", UNREADABLE),
    ("over 1 mib", UNREADABLE),
    ("worker", LOST),
    ("redis", LOST),
)


def public_message(detail: str | None) -> str:
    """The sentence a client is shown for a slot that failed with the stored `detail`."""
    text = (detail or "").lower()
    return next((message for fragment, message in _KINDS if fragment in text), FAILED)
