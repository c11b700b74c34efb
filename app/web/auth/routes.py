"""Routes: sign in by invite link, who is signed in, sign out."""

from __future__ import annotations

from typing import Any

from flask import jsonify, redirect, render_template, url_for
from flask_babel import gettext as _

from app.models import Rater
from app.raters import (
    InviteRefused,
    RaterDisabled,
    auth_mode,
    current_rater,
    named_mode,
    redeem_invite,
    sign_in,
    sign_out,
)
from app.web.auth import bp

_NO_STORE = {"Cache-Control": "no-store"}


def rater_json(rater: Rater | None) -> dict[str, Any] | None:
    """A rater as the API shows it."""
    if rater is None:
        return None
    return {"id": rater.id, "name": rater.name, "role": rater.role}


@bp.get("/signin/<token>")
def signin(token: str):
    """Sign this browser in with a one-time link (in any mode), then go to the chat."""
    try:
        rater = redeem_invite(token)
        sign_in(rater)
    except InviteRefused as refused:
        page = render_template("signin.html", problem=refused.message, auth_mode=auth_mode())
        return page, refused.status, _NO_STORE
    except RaterDisabled:
        problem = _("This rater has been disabled.")
        page = render_template("signin.html", problem=problem, auth_mode=auth_mode())
        return page, 403, _NO_STORE
    return redirect(url_for("pages.index"), 303), _NO_STORE


@bp.get("/api/me")
def me():
    """The sign-in mode and this browser's rater (null when nobody is signed in)."""
    rater = current_rater(create=not named_mode())
    return jsonify(auth_mode=auth_mode(), rater=rater_json(rater)), 200, _NO_STORE


@bp.post("/api/signout")
def signout():
    """End this browser's session."""
    sign_out()
    return "", 204
