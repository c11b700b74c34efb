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


# One budget per limit across the whole API: a limit applied to the blueprint per route
# would give a client the limit again on every route it calls.


def _spread_calls(client, count: int) -> list[int]:
    """`count` API calls spread over five routes (and three methods); the statuses of all
    but the first."""
    client.get("/")  # the page makes the browser's rater, whose key the calls then count on
    cid = _conversation(client)  # POST /api/conversations, the first call
    paths = [
        ("get", "/api/conversations"),
        ("get", f"/api/conversations/{cid}"),
        ("patch", f"/api/conversations/{cid}"),
        ("post", f"/api/conversations/{cid}/turns"),
    ]
    statuses = []
    for i in range(count - 1):
        method, path = paths[i % len(paths)]
        body = {"content": f"m{i}"} if path.endswith("/turns") else {"title": f"t{i}"}
        response = getattr(client, method)(path, json=None if method == "get" else body)
        statuses.append(response.status_code)
    return statuses


@pytest.mark.settings(
    RATELIMIT_ENABLED=True, RATELIMIT_API="8/minute", RATELIMIT_TURNS="100/minute"
)
def test_the_api_limit_is_one_budget_across_routes(app, fresh_limits, queued):
    script, person = app.test_client(), app.test_client()
    statuses = _spread_calls(script, 10)
    # The conversation was call 1: calls 2 to 8 pass, whatever their route; 9 and 10 do not.
    assert [s < 400 for s in statuses] == [True] * 7 + [False] * 2, str(statuses)
    assert statuses[-2:] == [429, 429]
    # Starting a turn is an API call too: it counts against the same budget.
    person.get("/")
    cid = _conversation(person)
    for _ in range(5):
        sent = person.post(
            f"/api/conversations/{cid}/turns", json={"content": "x", "mode": "single"}
        )
        assert sent.status_code == 202
    assert [person.get("/api/conversations").status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.settings(
    RATELIMIT_ENABLED=True, RATELIMIT_PER_IP="8/minute", RATELIMIT_TURNS_PER_IP="100/minute"
)
def test_the_address_limit_is_one_budget_across_routes_and_clients(app, fresh_limits, queued):
    first, second = app.test_client(), app.test_client()
    statuses = _spread_calls(first, 5) + _spread_calls(second, 5)
    # Calls 1 to 5 are the first client's, 6 to 10 the second's: 9 and 10 are refused.
    assert [s < 400 for s in statuses] == [True] * 6 + [False] * 2, str(statuses)


@pytest.mark.settings(RATELIMIT_ENABLED=True, RATELIMIT_TURNS="3/minute")
def test_the_turn_limit_is_one_budget_across_messages_rerolls_and_retries(
    app, fresh_limits, queued
):
    from sqlalchemy import update

    from app.extensions import db
    from app.models import DONE, Response

    client = app.test_client()
    cid = _conversation(client)
    turns = [
        client.post(f"/api/conversations/{cid}/turns", json={"content": f"m{i}"}) for i in range(2)
    ]
    assert [t.status_code for t in turns] == [202, 202]
    with app.app_context():  # the answers end, so the last turn may be re-rolled
        db.session.execute(update(Response).values(status=DONE, content="done"))
        db.session.commit()
    last = turns[-1].get_json()["id"]
    rerolled = client.post(f"/api/turns/{last}/reroll", json={})  # the third
    assert rerolled.status_code == 202, rerolled.get_data(as_text=True)
    refused = client.post(f"/api/turns/{last}/retry", json={})
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    refused = client.post(f"/api/conversations/{cid}/turns", json={"content": "again"})
    assert refused.status_code == 429


@pytest.mark.settings(RATELIMIT_ENABLED=True, RATELIMIT_API="4/minute")
def test_the_admin_calls_share_the_api_budget(app, fresh_limits):
    from tests.admin_helpers import admin_client

    admin = admin_client(app)
    paths = ["/api/admin/raters", "/api/conversations", "/admin/raters", "/api/admin/leaderboard"]
    assert [admin.get(path).status_code for path in paths] == [200] * 4
    assert admin.get("/api/admin/raters").status_code == 429
    assert admin.get("/api/conversations").status_code == 429
