"""The rater of the current request, kept in the signed session cookie as `rater_id`.

A rater is loaded from the database on every request that asks, so a disabled rater's
sessions stop working at their next request, wherever they were signed in.
"""

from __future__ import annotations

from flask import g, session

from app.extensions import db
from app.models import Rater
from app.raters.accounts import anonymous_rater, named_mode
from app.vocabulary import ANONYMOUS

RATER_KEY = "rater_id"
# What the session held before raters existed: an anonymous client id, which the migration
# made the id of an anonymous rater.
LEGACY_KEY = "client_id"
_CACHE = "_duet_rater"
_REFUSED = "_duet_rater_refused"


class RaterDisabled(Exception):
    """A disabled rater cannot sign in."""


def current_rater(create: bool = False) -> Rater | None:
    """This request's rater, or None: no rater in the session, theirs is disabled, or (in
    `invite` and `oidc` modes) only an anonymous one. With `create`, in `anonymous` mode, a
    browser without a rater gets a new anonymous one (a row and the cookie)."""
    if _CACHE in g:
        rater = g.get(_CACHE)
        if rater is not None or not create:
            return rater
    rater = _load(create)
    if rater is None and create and not named_mode() and not session_refused():
        rater = anonymous_rater()
        _remember(rater)
    setattr(g, _CACHE, rater)
    return rater


def session_refused() -> bool:
    """Whether this request's session names a rater who has been disabled."""
    return bool(g.get(_REFUSED))


def sign_in(rater: Rater) -> None:
    """Make `rater` this browser's rater, in a fresh session (nothing of the old one is kept,
    so a session fixed before sign-in does not become signed in). RaterDisabled if disabled."""
    if rater.disabled:
        raise RaterDisabled(rater.name)
    session.clear()
    _remember(rater)
    setattr(g, _CACHE, rater)
    setattr(g, _REFUSED, False)


def sign_out() -> None:
    """End this browser's session."""
    session.clear()
    setattr(g, _CACHE, None)


def _remember(rater: Rater) -> None:
    session[RATER_KEY] = rater.id
    session.permanent = True


def _load(create: bool) -> Rater | None:
    """The session's rater as stored, if it may act now."""
    rater_id = session.get(RATER_KEY)
    legacy = None
    if not isinstance(rater_id, str) or not rater_id:
        legacy = session.get(LEGACY_KEY)
        rater_id = legacy if isinstance(legacy, str) and legacy else None
    if rater_id is None or len(rater_id) > 64:
        return None
    rater = db.session.get(Rater, rater_id)
    if rater is None and legacy and create and not named_mode():
        rater = anonymous_rater(rater_id)  # a cookie from before raters, with nothing saved
    if rater is None:
        return None
    if legacy:  # from now on the cookie says rater_id
        session.pop(LEGACY_KEY, None)
        _remember(rater)
    if rater.disabled:
        setattr(g, _REFUSED, True)
        return None
    if named_mode() and rater.kind == ANONYMOUS:
        return None  # an anonymous cookie from before the switch is not a sign-in
    return rater
