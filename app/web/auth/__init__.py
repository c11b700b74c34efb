"""Signing in and out over HTTP: `/signin/<token>`, `/api/me`, `/api/signout`, and the gate
that answers 401 to API calls without a rater.

The OpenID Connect routes (`/auth/login`, `/auth/callback`) join the same blueprint.
"""

from __future__ import annotations

from flask import Blueprint, Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.raters import auth_mode, current_rater, named_mode, session_refused
from app.web.identity import require_rater
from app.web.security import address_limit

bp = Blueprint("auth", __name__)

# Sign-in links are not guessable (256 random bits), but no one needs many tries either: one
# budget per address for these routes, for anonymous clients (a signed-in rater's calls to
# /api/me are theirs, not their NAT's).
address_limit("RATELIMIT_PER_IP", scope="auth-by-address")(bp)

# /api/* calls that answer without a rater: the API's description, and who is signed in.
OPEN_PATHS = frozenset({"/api/openapi.json", "/api/me"})
SIGNOUT_PATH = "/api/signout"


def init_app(app: Flask) -> None:
    """Register the routes and the gate in front of every /api/* call."""
    app.register_blueprint(bp)
    app.before_request(_gate)


def _gate() -> ResponseReturnValue | None:
    """401 for an /api/* call without a rater that may act: in `invite` and `oidc` modes
    nobody signed in; in any mode a disabled rater. An anonymous browser gets its rater here.
    The page, in those cases, shows how to sign in instead of a chat that cannot work."""
    path = request.path
    if path == "/":
        if current_rater(create=not named_mode()) is not None:
            return None
        problem = _("This rater has been disabled.") if session_refused() else None
        page = render_template("signin.html", problem=problem, auth_mode=auth_mode())
        return page, 200, {"Cache-Control": "no-store"}
    if not (path + "/").startswith("/api/") or path in OPEN_PATHS:
        return None
    if path == SIGNOUT_PATH and not named_mode():
        return None  # signing out an anonymous browser needs no rater made first
    require_rater()
    return None


from app.web.auth import routes  # noqa: E402,F401  (routes register on bp)
