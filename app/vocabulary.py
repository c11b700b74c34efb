"""Every value the API, the page, the CLI and the exports allow, defined once.

The OpenAPI document (`app/web/openapi/`), the CLI and the page (rendered into
`index.html` as JSON by `app/web/pages.py`) all read them from here.
"""

from __future__ import annotations

# A turn's slots: one response each.
SLOTS = ("a", "b")
# How a new message asks to be answered: `auto` pairs at PREFERENCE_SAMPLE_RATE.
MODES = ("auto", "single", "pair")
# Why a turn has one or two responses.
TRIGGERS = ("single", "sampled", "requested", "reroll", "campaign")
# Response.status: "streaming" from the moment it is queued until exactly one terminal
# status replaces it.
STREAMING, DONE, ERROR, CANCELLED = "streaming", "done", "error", "cancelled"
STATUSES = (STREAMING, DONE, ERROR, CANCELLED)
TERMINAL_STATUSES = (DONE, ERROR, CANCELLED)
# A vote on a pair.
TIE, BOTH_BAD = "tie", "both_bad"
CHOICES = ("a", "b", TIE, BOTH_BAD)
# Thumbs on one response (POST /api/responses/<rid>/rating).
UP, DOWN = "up", "down"
RATINGS = (UP, DOWN)
# A rater's role, and how they came to be: AUTH_MODE names one of the kinds (config.py
# spells them again, as it cannot import the app).
RATER, ADMIN = "rater", "admin"
ROLES = (RATER, ADMIN)
ANONYMOUS, INVITE, OIDC = "anonymous", "invite", "oidc"
RATER_KINDS = AUTH_MODES = (ANONYMOUS, INVITE, OIDC)


def as_json() -> dict[str, list[str]]:
    """The vocabulary as the page reads it."""
    return {
        "slots": list(SLOTS),
        "modes": list(MODES),
        "triggers": list(TRIGGERS),
        "statuses": list(STATUSES),
        "terminal_statuses": list(TERMINAL_STATUSES),
        "choices": list(CHOICES),
        "ratings": list(RATINGS),
    }
