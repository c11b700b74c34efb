"""Raters: who owns conversations and votes, how they sign in, and what a session holds.

No routes here: app/web/auth/ serves sign-in over HTTP, app/cli/raters.py from the terminal.
"""

from app.raters.accounts import (
    RaterError,
    auth_mode,
    disable_rater,
    find_or_create_oidc_rater,
    find_rater,
    invite_rater,
    list_raters,
    named_mode,
)
from app.raters.invites import InviteRefused, create_invite, redeem_invite
from app.raters.sessions import RaterDisabled, current_rater, session_refused, sign_in, sign_out

__all__ = [
    "InviteRefused",
    "RaterDisabled",
    "RaterError",
    "auth_mode",
    "create_invite",
    "current_rater",
    "disable_rater",
    "find_or_create_oidc_rater",
    "find_rater",
    "invite_rater",
    "list_raters",
    "named_mode",
    "redeem_invite",
    "session_refused",
    "sign_in",
    "sign_out",
]
