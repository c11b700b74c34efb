"""Hostile input and other sites: rate limits, origins, cookies, headers, inert model output."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import redis
import websocket

from tests.conftest import APP_REDIS_URL

TEMPLATES = Path(__file__).resolve().parent.parent / "app" / "templates"


@pytest.fixture
def fresh_limits():
    redis.Redis.from_url(APP_REDIS_URL).flushdb()
    yield
    redis.Redis.from_url(APP_REDIS_URL).flushdb()


def _conversation(client) -> str:
    return client.post("/api/conversations", json={}).get_json()["id"]


@pytest.mark.settings(RATELIMIT_ENABLED=True, RATELIMIT_TURNS="3/minute")
def test_a_client_sending_too_fast_gets_429_with_retry_after(app, fresh_limits):
    script, person = app.test_client(), app.test_client()
    cid = _conversation(script)
    answers = [
        script.post(f"/api/conversations/{cid}/turns", json={"content": f"m{i}"}) for i in range(4)
    ]
    assert [a.status_code for a in answers] == [202, 202, 202, 429]
    # Retry-After belongs to the refusal only (an accepted request has nothing to retry).
    assert [("Retry-After" in a.headers) for a in answers] == [False, False, False, True]
    refused = script.post(f"/api/conversations/{cid}/turns", json={"content": "again"})
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= 60  # the rest of the minute's window
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert "3 per 1 minute" in refused.get_json()["error"]["message"]
    # Another client is not held back by the first one's limit.
    other = _conversation(person)
    assert person.post(f"/api/conversations/{other}/turns", json={"content": "hi"}).status_code == (
        202
    )


@pytest.mark.settings(RATELIMIT_ENABLED=True, RATELIMIT_TURNS="1/hour")
def test_a_refusal_whose_window_cannot_be_read_says_the_whole_window(
    app, fresh_limits, monkeypatch
):
    client = app.test_client()
    cid = _conversation(client)
    assert client.post(f"/api/conversations/{cid}/turns", json={"content": "a"}).status_code == 202

    def redis_gone(self):
        raise redis.ConnectionError("Redis went away")

    monkeypatch.setattr("flask_limiter.RequestLimit.window", property(redis_gone))
    refused = client.post(f"/api/conversations/{cid}/turns", json={"content": "b"})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "3600"


@pytest.mark.settings(RATELIMIT_ENABLED=True, RATELIMIT_PER_IP="5/minute")
def test_many_clients_from_one_address_share_its_limit(app, fresh_limits):
    statuses = [app.test_client().get("/api/conversations").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


@pytest.mark.parametrize("header", ["Origin", "Referer"])
def test_a_state_change_from_another_site_is_refused(client, header):
    value = "https://evil.example" + ("/page" if header == "Referer" else "")
    response = client.post("/api/conversations", json={}, headers={header: value})
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden_origin"
    assert client.get("/api/conversations").get_json()["conversations"] == []


def test_same_origin_and_configured_origins_are_allowed(client, app):
    assert (
        client.post(
            "/api/conversations", json={}, headers={"Origin": "http://localhost"}
        ).status_code
        == 201
    )
    app.config["ALLOWED_ORIGINS"] = ["https://chat.example.org"]
    assert (
        client.post(
            "/api/conversations", json={}, headers={"Origin": "https://chat.example.org"}
        ).status_code
        == 201
    )


def test_a_form_post_cannot_start_a_turn(client):
    cid = _conversation(client)
    response = client.post(
        f"/api/conversations/{cid}/turns", data="content=hi", content_type="text/plain"
    )
    assert response.status_code == 415
    assert client.get(f"/api/conversations/{cid}").get_json()["turns"] == []


@pytest.mark.stack
def test_a_websocket_from_another_site_is_refused(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    turn = browser.send(cid, "hello #tokens=3")
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.http.cookies)
    url = stack.url.replace("http", "ws", 1) + f"/ws/turns/{turn['id']}"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(url, cookie=cookie, origin="https://evil.example")
    assert refused.value.status_code == 403
    same_site = websocket.create_connection(url, cookie=cookie, origin=stack.url)
    assert '"type"' in same_site.recv()
    same_site.close()


def test_the_session_cookie_is_httponly_and_samesite_lax(client):
    client.get("/")
    cookie = client.get_cookie("session")
    assert cookie is not None
    assert cookie.http_only and cookie.same_site == "Lax"


def test_production_cookies_are_secure(app):
    from app import create_app

    prod = create_app({**app.config, "DUET_ENV": "production"})
    response = prod.test_client().get("/")
    assert "Secure" in response.headers["Set-Cookie"]


def test_pages_carry_a_content_security_policy_without_inline_script(client):
    response = client.get("/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> in the page"
    assert not re.search(r"\son[a-z]+\s*=", html), "inline event handler in the page"
    for template in TEMPLATES.glob("*.html"):
        assert "style=" not in template.read_text(), f"inline style in {template.name}"


@pytest.mark.parametrize("header", ["Origin", "Referer"])
def test_a_malformed_origin_is_refused_not_a_crash(client, header):
    response = client.post("/api/conversations", json={}, headers={header: "http://["})
    assert response.status_code == 403
