"""Who is asking: the rater of the request, as the API and the websocket need it.

app/raters/sessions.py keeps the rater in the session cookie; this module turns "no rater"
into the contract's answers: 401 `unauthorized` on the API, close code 4401 on a socket.
"""

from __future__ import annotations

from flask_babel import gettext as _

from app.errors import ApiError
from app.models import Rater
from app.raters import auth_mode, current_rater, named_mode, session_refused
from app.vocabulary import OIDC


def unauthorized() -> ApiError:
    """The answer to a request that needs a signed-in rater and has none."""
    if session_refused():
        return ApiError(401, "unauthorized", _("This rater has been disabled."))
    if auth_mode() == OIDC:
        return ApiError(401, "unauthorized", _("Sign in first, at /auth/login."))
    return ApiError(401, "unauthorized", _("Sign in first, with the sign-in link you were sent."))


def require_rater() -> Rater:
    """The request's rater; in `anonymous` mode a new browser gets one. 401 when a named mode
    has nobody signed in, or the session's rater has been disabled."""
    rater = current_rater(create=not named_mode())
    if rater is None:
        raise unauthorized()
    return rater


def rater_id() -> str:
    """The id of the request's rater (see require_rater): the owner of what it creates."""
    return require_rater().id


def socket_rater_id() -> str | None:
    """The rater of a websocket, None when an anonymous browser has none yet (it owns no
    turn); 401 ApiError when it must sign in first."""
    rater = current_rater(create=False)
    if rater is None and (named_mode() or session_refused()):
        raise unauthorized()
    return rater.id if rater is not None else None


def client_id(create: bool = True) -> str | None:
    """The request's rater id, or None; kept for callers from before raters (the page)."""
    rater = current_rater(create=create and not named_mode())
    return rater.id if rater is not None else None
