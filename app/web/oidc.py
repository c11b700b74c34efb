"""OpenID Connect over HTTP: `/auth/login` sends the browser to the provider, `/auth/callback`
signs in the rater its ID token names. Both answer 404 unless AUTH_MODE is `oidc`.

A refused sign-in gets a short HTML page with a 4xx (503 when the provider cannot be
reached) and signs nobody in; the checks themselves are in app/raters/oidc.py.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from app.raters import RaterDisabled, auth_mode, find_or_create_oidc_rater, oidc, sign_in
from app.vocabulary import OIDC
from app.web.security import address_limit

bp = Blueprint("oidc", __name__)
bp.record_once(lambda state: oidc.init_app(state.app))

# A sign-in is a few requests; a script hammering the callback gets nowhere faster. One
# budget for both routes, the API's per-address one (anyone here is not signed in yet).
address_limit("RATELIMIT_PER_IP", scope="api-by-address")(bp)

_NO_STORE = {"Cache-Control": "no-store"}


def _problem(status: int, message: str) -> ResponseReturnValue:
    page = render_template("oidc_problem.html", problem=message)
    return page, status, _NO_STORE


@bp.get("/auth/login")
def login() -> ResponseReturnValue:
    """Redirect to the provider to sign in (authorization code flow with PKCE)."""
    if auth_mode() != OIDC:
        abort(404)
    try:
        response = oidc.begin(url_for("oidc.callback", _external=True))
    except oidc.SignInRefused as refused:
        return _problem(refused.status, refused.message)
    response.headers.update(_NO_STORE)
    return response


@bp.get("/auth/callback")
def callback() -> ResponseReturnValue:
    """Sign in the rater the provider vouches for (their `sub` is the key), then the chat."""
    if auth_mode() != OIDC:
        abort(404)
    try:
        identity = oidc.finish()
        rater = find_or_create_oidc_rater(identity.sub, identity.name, identity.email)
        sign_in(rater)
    except oidc.SignInRefused as refused:
        return _problem(refused.status, refused.message)
    except RaterDisabled:
        return _problem(403, _("This rater has been disabled."))
    return redirect(url_for("pages.index"), 303), _NO_STORE
