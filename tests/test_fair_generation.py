"""Fair generation: no client, and no address however many cookies it fetches, can have more
than its share of generations running, or start turns faster than the address's limit, while
everyone else is served as before."""

from __future__ import annotations

import time

import pytest
import redis
from kombu.exceptions import OperationalError
from sqlalchemy import update

from app.extensions import db
from app.models import DONE, Response
from tests.client import DuetClient
from tests.conftest import STACK_REDIS_URL, stack_env
from tests.stack import start_web, start_worker

_base, _db = STACK_REDIS_URL.rsplit("/", 1)
FAIR_REDIS_URL = f"{_base}/{int(_db) - 5}"

UNLIMITED = {"RATELIMIT_API": "10000/minute", "RATELIMIT_TURNS": "10000/minute"}


def _conversation(client) -> str:
    response = client.post("/api/conversations", json={})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def _send(client, cid: str, mode: str = "single"):
    return client.post(f"/api/conversations/{cid}/turns", json={"content": "hi", "mode": mode})


def _turns(client, cid: str) -> list[dict]:
    return client.get(f"/api/conversations/{cid}").get_json()["turns"]


def _finish_all(app) -> None:
    """Every response ends, as its worker would end it."""
    with app.app_context():
        db.session.execute(update(Response).values(status=DONE, content="done"))
        db.session.commit()


def _assert_capped(response, who: str) -> None:
    assert response.status_code == 429, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "too_many_generations"
    assert who in error["message"] and "at once" in error["message"]
    assert response.headers["Retry-After"] == "5"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.settings(
    RATELIMIT_ENABLED=True, GENERATIONS_PER_CLIENT=3, GENERATIONS_PER_ADDRESS=0, **UNLIMITED
)
def test_a_client_past_its_running_generations_gets_429_until_one_ends(app, queued, r):
    script, person = app.test_client(), app.test_client()
    cid = _conversation(script)
    assert _send(script, cid, "pair").status_code == 202  # two running
    assert _send(script, cid).status_code == 202  # three
    _assert_capped(_send(script, cid), "browser")
    _assert_capped(_send(script, cid, "pair"), "browser")
    assert len(_turns(script, cid)) == 2 and len(queued) == 3  # nothing stored or queued
    # Another client is not held back.
    assert _send(person, _conversation(person), "pair").status_code == 202
    # Once the generations end, the client may start more.
    _finish_all(app)
    assert _send(script, cid, "pair").status_code == 202
    assert _send(script, cid).status_code == 202
    _assert_capped(_send(script, cid), "browser")


@pytest.mark.settings(
    RATELIMIT_ENABLED=True, GENERATIONS_PER_CLIENT=2, GENERATIONS_PER_ADDRESS=5, **UNLIMITED
)
def test_fresh_cookies_from_one_address_share_its_cap(app, queued, r):
    cookies = [app.test_client() for _ in range(4)]
    statuses = [_send(c, _conversation(c), "pair").status_code for c in cookies[:2]]
    assert statuses == [202, 202]  # four running from the address
    fresh = cookies[2]
    cid = _conversation(fresh)
    assert _send(fresh, cid).status_code == 202  # five
    _assert_capped(_send(cookies[3], _conversation(cookies[3])), "network address")
    _assert_capped(_send(fresh, cid), "network address")
    # Another address is not held back by this one's cap.
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert _send(elsewhere, _conversation(elsewhere), "pair").status_code == 202


@pytest.mark.settings(
    RATELIMIT_ENABLED=True, GENERATIONS_PER_CLIENT=2, GENERATIONS_PER_ADDRESS=0, **UNLIMITED
)
def test_a_reroll_past_the_cap_gets_429_and_leaves_the_turn_single(app, queued, r):
    client = app.test_client()
    cid = _conversation(client)
    single = _send(client, cid).get_json()["id"]
    _finish_all(app)
    assert _send(client, cid, "pair").status_code == 202
    _assert_capped(client.post(f"/api/turns/{single}/reroll", json={}), "browser")
    turn = next(t for t in _turns(client, cid) if t["id"] == single)
    assert (turn["paired"], turn["trigger"]) == (False, "single")
    _finish_all(app)
    assert client.post(f"/api/turns/{single}/reroll", json={}).status_code == 202


@pytest.mark.settings(
    RATELIMIT_ENABLED=True, GENERATIONS_PER_CLIENT=2, GENERATIONS_PER_ADDRESS=0, **UNLIMITED
)
def test_a_turn_that_could_not_be_queued_does_not_count(app, r, monkeypatch):
    def broker_down(*_args, **_kwargs):
        raise OperationalError("the broker is down")

    monkeypatch.setattr(app.extensions["celery"], "send_task", broker_down)
    client = app.test_client()
    cid = _conversation(client)
    # Each attempt is admitted, then released when it cannot be queued: none is capped.
    assert [_send(client, cid, "pair").status_code for _ in range(3)] == [503] * 3
    assert _turns(client, cid) == []
    assert all(r.zcard(key) == 0 for key in r.keys("duet:running:*"))


@pytest.mark.settings(
    RATELIMIT_ENABLED=True,
    RATELIMIT_TURNS="100/minute",
    RATELIMIT_TURNS_PER_IP="3/minute",
    RATELIMIT_API="10000/minute",
    GENERATIONS_PER_CLIENT=0,
    GENERATIONS_PER_ADDRESS=0,
)
def test_the_turn_limit_holds_per_address_whatever_the_cookie(app, queued, r):
    statuses = []
    for _ in range(4):
        fresh = app.test_client()
        statuses.append(_send(fresh, _conversation(fresh)).status_code)
    assert statuses == [202, 202, 202, 429]
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert _send(elsewhere, _conversation(elsewhere)).status_code == 202


@pytest.mark.settings(GENERATIONS_PER_CLIENT=1, GENERATIONS_PER_ADDRESS=1)
def test_with_rate_limiting_off_nothing_is_capped(app, queued, r):
    client = app.test_client()
    cid = _conversation(client)
    assert [_send(client, cid, "pair").status_code for _ in range(3)] == [202] * 3


# --------------------------------------------------------------------------- the real stack


@pytest.fixture(scope="module")
def fair_stack(own_database, endpoints, run_dir, tmp_path_factory):
    """gunicorn (two processes) and a worker with the caps on, behind a trusted proxy, so a
    test can come from several addresses (X-Forwarded-For)."""
    redis.Redis.from_url(FAIR_REDIS_URL).flushdb()
    logs = tmp_path_factory.mktemp("fair")
    env = stack_env(
        own_database("fair"),
        endpoints,
        run_dir,
        REDIS_URL=FAIR_REDIS_URL,
        RATELIMIT_ENABLED="true",
        PROXY_FIX_X_FOR="1",
        GENERATIONS_PER_CLIENT="2",
        GENERATIONS_PER_ADDRESS="4",
        GENERATION_READ_TIMEOUT="30",
    )
    worker = start_worker(env, logs, name="fair-worker", concurrency=16)
    web, url = start_web(env, logs, workers=2, threads=8)
    yield url
    web.stop()
    worker.stop()
    redis.Redis.from_url(FAIR_REDIS_URL).flushdb()


def _browser(url: str, address: str) -> DuetClient:
    browser = DuetClient(url)
    browser.http.headers["X-Forwarded-For"] = address
    return browser


@pytest.mark.stack
@pytest.mark.timeout(120)
def test_stack_a_greedy_address_is_capped_while_a_bystander_streams_at_once(fair_stack):
    slow = "tell me a long story #tokens=400 #delay=0.05"  # 20 s per answer
    greedy = _browser(fair_stack, "203.0.113.9")
    first = greedy.send(greedy.new_conversation(), slow, mode="pair")
    refused = greedy.post(f"/api/conversations/{greedy.new_conversation()}/turns",
                          {"content": slow, "mode": "pair"})  # fmt: skip
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "too_many_generations"
    assert int(refused.headers["Retry-After"]) > 0
    # A fresh cookie from the same address gets the address's two remaining places, no more.
    second_cookie = _browser(fair_stack, "203.0.113.9")
    second = second_cookie.send(second_cookie.new_conversation(), slow, mode="pair")
    third_cookie = _browser(fair_stack, "203.0.113.9")
    refused = third_cookie.post(f"/api/conversations/{third_cookie.new_conversation()}/turns",
                                {"content": slow, "mode": "single"})  # fmt: skip
    assert refused.status_code == 429, refused.text
    assert "network address" in refused.json()["error"]["message"]

    # Someone else is served at once: the first token comes as fast as the model sends it.
    bystander = _browser(fair_stack, "198.51.100.4")
    started = time.monotonic()
    turn = bystander.send(bystander.new_conversation(), "hello #tokens=5", mode="pair")
    ws = bystander.connect(turn["id"])
    first_event = ws.recv()
    first_token = time.monotonic() - started
    ws.close()
    assert '"token"' in first_event
    assert first_token < 2.0, f"first token after {first_token:.2f} s"
    stream = bystander.stream(turn["id"])
    assert [e["type"] for e in stream.terminals("a") + stream.terminals("b")] == ["done", "done"]

    # Once the greedy turns end (cancelled here), their places come back, on either process.
    for browser, tid in ((greedy, first["id"]), (second_cookie, second["id"])):
        assert browser.post(f"/api/turns/{tid}/cancel").status_code == 202
    again = greedy.send(greedy.new_conversation(), "short #tokens=3", mode="pair")
    assert greedy.stream(again["id"]).of_type("end")
    for browser in (greedy, second_cookie, third_cookie, bystander):
        browser.http.close()
