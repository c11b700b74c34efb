"""Duet's side of the OpenID Connect tests: its settings, the provider fixture (started by
node with Duet and a second client registered), and the browser's steps."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import select

from app.extensions import db
from app.models import Rater
from tests.oidc import Provider

CALLBACK = "http://localhost/auth/callback"  # the test client's host
OTHER_CALLBACK = "http://other.test/callback"
DUET = {"client_id": "duet", "client_secret": "duet-secret", "redirect_uris": [CALLBACK]}
OTHER = {"client_id": "other", "client_secret": "other-secret", "redirect_uris": [OTHER_CALLBACK]}
# The port is chosen now, so that the settings below can name the provider.
PROVIDER = Provider()
SETTINGS = {
    "AUTH_MODE": "oidc",
    "OIDC_ISSUER": PROVIDER.issuer,
    "OIDC_CLIENT_ID": DUET["client_id"],
    "OIDC_CLIENT_SECRET": DUET["client_secret"],
    "OIDC_ADMIN_EMAILS": ["grace@example.test"],
}
oidc = pytest.mark.settings(**SETTINGS)


@pytest.fixture(scope="module")
def provider(run_dir: Path) -> Iterator[Provider]:
    """The provider, with Duet and a second client registered."""
    PROVIDER.start([DUET, OTHER], logs_in(run_dir))
    yield PROVIDER
    PROVIDER.stop()


def logs_in(run_dir: Path) -> Path:
    (run_dir / "logs").mkdir(exist_ok=True)
    return run_dir / "logs"


def begin(client) -> str:
    """GET /auth/login; the provider's authorization URL it redirects to."""
    response = client.get("/auth/login")
    assert response.status_code == 302, response.text
    return response.headers["Location"]


def callback(client, url: str):
    """Visit the URL the provider sent the browser back to."""
    assert url.startswith(CALLBACK), url
    return client.get(url.removeprefix("http://localhost"))


def me(client) -> dict | None:
    response = client.get("/api/me")
    assert response.status_code == 200
    return response.json["rater"]


def refused(response, status: int = 400, says: str | None = None) -> None:
    """A refused sign-in: an HTML page with `status` (saying `says`), no traceback, and no
    session."""
    assert response.status_code == status, response.text
    if says is not None:
        assert str(escape(says)) in response.text, response.text
    assert response.mimetype == "text/html"
    assert "You are not signed in" in response.text
    assert "Traceback" not in response.text
    assert response.headers["Cache-Control"] == "no-store"


def session_of(app, client) -> dict:
    """What the browser's (signed, not encrypted) session cookie holds."""
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.loads(client.get_cookie("session").value)


def rater_count(app) -> int:
    with app.app_context():
        return len(db.session.scalars(select(Rater)).all())
