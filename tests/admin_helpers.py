"""Signing a test client in for the admin tests: by a real invite link, or straight into the
session as the sign-in would."""

from __future__ import annotations

from urllib.parse import urlsplit

from app.extensions import db
from app.models import Rater
from app.raters.sessions import RATER_KEY
from app.vocabulary import ADMIN, INVITE, RATER

ADMIN_PAGES = ("/admin", "/admin/raters", "/admin/campaigns", "/admin/export")
ADMIN_API = ("/api/admin/leaderboard", "/api/admin/raters", "/api/admin/export")


def invite_link(runner, name: str, admin: bool = False) -> str:
    """The path of a sign-in link `flask raters invite` prints."""
    args = ["raters", "invite", name] + (["--admin"] if admin else [])
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return urlsplit(result.stdout.strip().splitlines()[-1]).path


def sign_in_as(app, client, name: str, role: str = RATER) -> str:
    """Make `client` the browser of a named rater (made now); the rater's id."""
    with app.app_context():
        rater = Rater(name=name, role=role, kind=INVITE)
        db.session.add(rater)
        db.session.commit()
        rater_id = rater.id
    with client.session_transaction() as session:
        session[RATER_KEY] = rater_id
    return rater_id


def admin_client(app):
    """A browser signed in as the admin `boss`."""
    client = app.test_client()
    sign_in_as(app, client, "boss-admin", ADMIN)
    return client
