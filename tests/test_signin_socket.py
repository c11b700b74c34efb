"""The websocket's side of sign-in, on a real server in `invite` mode: no rater, or a disabled
one, closes with 4401; a signed-in rater's unknown turn is still 4404."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import websocket

from app.extensions import db
from app.raters import create_invite, disable_rater, invite_rater
from tests.conftest import stack_env
from tests.stack import start_web

UNKNOWN_TURN = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def invite_web(database_url, endpoints, run_dir) -> Iterator[str]:
    """gunicorn with AUTH_MODE=invite (no worker: nothing here generates)."""
    logs = run_dir / "logs-invite"
    logs.mkdir(exist_ok=True)
    web, url = start_web(stack_env(database_url, endpoints, run_dir, AUTH_MODE="invite"), logs)
    yield url
    web.stop()


def _browser() -> requests.Session:
    """A session that opens a fresh connection per request, as `DuetClient` does: a kept-alive
    one may be closed by the server (its keep-alive timeout) just as it is reused."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


def close_code(url: str, browser: requests.Session) -> int | None:
    """The close code the server answers a socket to an unknown turn with."""
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.cookies)
    ws = websocket.create_connection(
        url.replace("http", "ws", 1) + f"/ws/turns/{UNKNOWN_TURN}", cookie=cookie, timeout=10
    )
    try:
        opcode, data = ws.recv_data()
        assert opcode == websocket.ABNF.OPCODE_CLOSE, data
        return int.from_bytes(data[:2], "big") if data else None
    finally:
        ws.close()


def test_a_socket_needs_a_signed_in_rater_who_is_not_disabled(app, invite_web):
    nobody = _browser()
    assert close_code(invite_web, nobody) == 4401
    assert nobody.get(invite_web + "/api/conversations").status_code == 401

    with app.app_context():
        token = create_invite(invite_rater("Socket Sam"))
        db.session.remove()
    sam = _browser()
    signed_in = sam.get(f"{invite_web}/signin/{token}", allow_redirects=False)
    assert signed_in.status_code == 303
    assert close_code(invite_web, sam) == 4404  # signed in: only the turn is unknown

    with app.app_context():
        disable_rater("Socket Sam")
        db.session.remove()
    assert close_code(invite_web, sam) == 4401
    assert sam.get(invite_web + "/api/conversations").status_code == 401
