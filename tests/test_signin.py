"""The sign-in contract in each AUTH_MODE: `/api/me`, `/api/signout`, `/signin/<token>`, the
401 gate of named modes, fresh sessions at sign-in, and disabled raters shut out.

`oidc` runs with provider settings that are never contacted: everything here works without
the provider (its `/auth/*` routes are tested with a real one elsewhere).
"""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.extensions import db
from app.models import Conversation, Rater
from app.raters.accounts import anonymous_rater

OIDC_SETTINGS = {
    "OIDC_ISSUER": "http://127.0.0.1:9/never-contacted",
    "OIDC_CLIENT_ID": "duet",
    "OIDC_CLIENT_SECRET": "secret",
}
MODES = [
    pytest.param("anonymous", id="anonymous"),
    pytest.param("invite", marks=pytest.mark.settings(AUTH_MODE="invite"), id="invite"),
    pytest.param("oidc", marks=pytest.mark.settings(AUTH_MODE="oidc", **OIDC_SETTINGS), id="oidc"),
]
NAMED = MODES[1:]
# Every API call a rater makes, with a body that would be fine; the ids need not exist.
API_CALLS = [
    ("get", "/api/conversations", None),
    ("post", "/api/conversations", {}),
    ("get", "/api/conversations/0123456789abcdef0123456789abcdef", None),
    ("post", "/api/conversations/0123456789abcdef0123456789abcdef/turns", {"content": "hi"}),
    ("post", "/api/turns/0123456789abcdef0123456789abcdef/reroll", {}),
    ("post", "/api/turns/0123456789abcdef0123456789abcdef/feedback", {"choice": "a"}),
    ("post", "/api/turns/0123456789abcdef0123456789abcdef/cancel", {}),
    ("post", "/api/signout", {}),
    ("get", "/api/no-such-call", None),
]


def link(runner, name: str, *args: str) -> str:
    """The path of a new sign-in link for `name`, from `flask raters invite`."""
    result = runner.invoke(args=["raters", "invite", name, *args])
    assert result.exit_code == 0, result.output
    return "/signin/" + result.stdout.strip().rsplit("/signin/", 1)[1]


def me(client: FlaskClient) -> dict:
    answer = client.get("/api/me")
    assert answer.status_code == 200
    return answer.get_json()


def session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie is not None else None


def assert_unauthorized(answer) -> None:
    assert answer.status_code == 401, answer.get_data(as_text=True)
    assert answer.get_json()["error"]["code"] == "unauthorized"


# --------------------------------------------------------------------------- /api/me


@pytest.mark.parametrize("mode", MODES)
def test_me_names_the_mode_and_the_rater(app, client, mode):
    answer = me(client)
    assert answer["auth_mode"] == mode
    if mode == "anonymous":
        rater = answer["rater"]
        assert set(rater) == {"id", "name", "role"}
        assert rater["role"] == "rater" and rater["name"] == "anonymous-" + rater["id"]
        assert me(client)["rater"] == rater  # the same browser stays the same rater
        assert me(app.test_client())["rater"]["id"] != rater["id"]
    else:
        assert answer["rater"] is None
        assert session_cookie(client) is None  # nobody gets a rater in a named mode


# --------------------------------------------------------------------------- the gate


@pytest.mark.parametrize("mode", NAMED)
@pytest.mark.parametrize(("method", "path", "body"), API_CALLS)
def test_named_modes_answer_401_to_every_call_without_a_rater(client, mode, method, path, body):
    assert_unauthorized(getattr(client, method)(path, json=body))


@pytest.mark.parametrize("mode", MODES)
def test_the_api_document_and_me_need_no_sign_in(client, mode):
    assert client.get("/api/openapi.json").status_code == 200
    assert client.get("/api/me").status_code == 200


def test_anonymous_mode_needs_no_sign_in(client):
    assert client.post("/api/conversations", json={}).status_code == 201
    assert client.get("/api/conversations").status_code == 200


@pytest.mark.parametrize("mode", NAMED)
def test_the_page_shows_how_to_sign_in_until_signed_in(client, runner, mode):
    page = client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Sign in to rate" in html and "composer" not in html
    assert ('href="/auth/login"' in html) == (mode == "oidc")
    client.get(link(runner, "Reader"))
    chat = client.get("/").get_data(as_text=True)
    assert "composer" in chat and "Sign in to rate" not in chat


# --------------------------------------------------------------------------- /signin/<token>


@pytest.mark.parametrize("mode", MODES)
def test_an_invite_link_signs_in_and_goes_to_the_chat(app, client, runner, mode):
    path = link(runner, "Ada Lovelace", "--admin")
    answer = client.get(path)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/"
    rater = me(client)["rater"]
    assert (rater["name"], rater["role"]) == ("Ada Lovelace", "admin")
    created = client.post("/api/conversations", json={})
    assert created.status_code == 201
    with app.app_context():
        owner = db.session.get(Conversation, created.get_json()["id"]).rater_id
        assert owner == rater["id"]


@pytest.mark.parametrize("mode", MODES)
def test_a_link_works_once(app, client, runner, mode):
    path = link(runner, "Once")
    assert client.get(path).status_code == 303
    other = app.test_client()
    again = other.get(path)
    assert again.status_code == 410
    assert again.mimetype == "text/html"
    assert "used already" in again.get_data(as_text=True)
    assert "Set-Cookie" not in again.headers
    assert me(other)["rater"] is None or me(other)["rater"]["name"] != "Once"


@pytest.mark.parametrize("mode", MODES)
def test_an_expired_or_unknown_link_gets_a_page_and_no_session(app, client, runner, mode):
    expired = link(runner, "Late", "--expires", "0.0001")  # a third of a second
    import time

    time.sleep(0.5)
    for path, status, words in (
        (expired, 410, "expired"),
        ("/signin/not-a-token", 404, "not valid"),
        ("/signin/" + "x" * 300, 404, "not valid"),
    ):
        answer = client.get(path)
        assert answer.status_code == status
        assert answer.mimetype == "text/html" and words in answer.get_data(as_text=True)
        assert "Set-Cookie" not in answer.headers
    assert session_cookie(client) is None


@pytest.mark.parametrize("mode", MODES)
def test_sign_in_starts_a_fresh_session(app, client, runner, mode):
    """No fixation: whatever the session held before is gone, the cookie changes, and a copy
    of the cookie taken before sign-in does not become signed in."""
    with client.session_transaction() as planted:
        planted["client_id"] = "planted-by-someone"
        planted["anything"] = "else"
    before = session_cookie(client)
    client.get(link(runner, "Victim"))
    after = session_cookie(client)
    assert after and after != before
    with client.session_transaction() as fresh:
        assert set(fresh) - {"_permanent"} == {"rater_id"}
    victim = me(client)["rater"]
    assert victim["name"] == "Victim"

    attacker = app.test_client()
    attacker.set_cookie("session", before)
    seen = me(attacker)["rater"]
    assert seen is None or seen["id"] != victim["id"]


@pytest.mark.parametrize("mode", MODES)
def test_the_same_rater_sees_their_conversations_from_any_browser(app, runner, mode):
    laptop, phone = app.test_client(), app.test_client()
    laptop.get(link(runner, "Traveller"))
    phone.get(link(runner, "Traveller"))
    cid = laptop.post("/api/conversations", json={}).get_json()["id"]
    listed = phone.get("/api/conversations").get_json()["conversations"]
    assert [c["id"] for c in listed] == [cid]
    assert phone.get(f"/api/conversations/{cid}").status_code == 200

    stranger = app.test_client()
    stranger.get(link(runner, "Stranger"))
    assert stranger.get(f"/api/conversations/{cid}").status_code == 404
    assert stranger.get("/api/conversations").get_json()["conversations"] == []


# --------------------------------------------------------------------------- /api/signout


@pytest.mark.parametrize("mode", MODES)
def test_signing_out_ends_the_session(client, runner, mode):
    client.get(link(runner, "Leaver"))
    signed_in = me(client)["rater"]
    answer = client.post("/api/signout")
    assert answer.status_code == 204 and answer.get_data() == b""
    after = me(client)["rater"]
    if mode == "anonymous":
        assert after["id"] != signed_in["id"] and after["name"].startswith("anonymous-")
    else:
        assert after is None
        assert_unauthorized(client.get("/api/conversations"))


# --------------------------------------------------------------------------- disabling


@pytest.mark.parametrize("mode", MODES)
def test_disabling_a_rater_ends_their_sessions_at_the_next_request(app, runner, mode):
    browsers = [app.test_client(), app.test_client()]
    for browser in browsers:
        browser.get(link(runner, "Spammer"))
        assert browser.post("/api/conversations", json={}).status_code == 201
    assert runner.invoke(args=["raters", "disable", "Spammer"]).exit_code == 0
    for browser in browsers:
        assert_unauthorized(browser.get("/api/conversations"))
        assert_unauthorized(browser.post("/api/conversations", json={}))
        assert me(browser)["rater"] is None
        assert "disabled" in browser.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Conversation).count() == 2  # their data stays


def test_a_disabled_anonymous_rater_is_shut_out_too(app, client, runner):
    rater = me(client)["rater"]
    assert runner.invoke(args=["raters", "disable", rater["name"]]).exit_code == 0
    assert_unauthorized(client.post("/api/conversations", json={}))
    assert me(client)["rater"] is None


# --------------------------------------------------------------------------- old sessions


def test_a_session_from_before_raters_keeps_its_conversations(app, client):
    """A cookie holding the old `client_id` is that client's anonymous rater, as migrated."""
    with app.app_context():
        owner = anonymous_rater("old-client-id")
        db.session.add(Conversation(rater_id=owner.id))
        db.session.commit()
    with client.session_transaction() as old:
        old["client_id"] = "old-client-id"
    assert len(client.get("/api/conversations").get_json()["conversations"]) == 1
    assert me(client)["rater"]["id"] == "old-client-id"
    with client.session_transaction() as now:
        assert now["rater_id"] == "old-client-id" and "client_id" not in now


def test_a_session_from_before_raters_without_data_gets_its_rater_made(app, client):
    with client.session_transaction() as old:
        old["client_id"] = "never-wrote-anything"
    assert client.post("/api/conversations", json={}).status_code == 201
    with app.app_context():
        rater = db.session.get(Rater, "never-wrote-anything")
        assert rater is not None and rater.kind == "anonymous"


@pytest.mark.parametrize("mode", NAMED)
def test_an_anonymous_session_is_not_a_sign_in_in_named_modes(app, client, mode):
    with app.app_context():
        anonymous_rater("from-anonymous-days")
    with client.session_transaction() as old:
        old["rater_id"] = "from-anonymous-days"
    assert me(client)["rater"] is None
    assert_unauthorized(client.get("/api/conversations"))
