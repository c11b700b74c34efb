"""Limits follow the rater: a named rater (signed in by invite or OpenID Connect) is limited
as a rater only, so a team behind one NAT is not starved by the limits per address, which
hold for anonymous clients from that address as before."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
import websocket

from app.extensions import db
from app.raters import create_invite, invite_rater
from app.vocabulary import ADMIN
from tests.admin_helpers import sign_in_as
from tests.client import DuetClient
from tests.conftest import STACK_REDIS_URL, stack_env
from tests.stack import start_procfile_web, start_worker

TEAM = 10  # named raters behind one address

_base, _db = STACK_REDIS_URL.rsplit("/", 1)
FOLLOW_REDIS_URL = f"{_base}/{int(_db) - 7}"


def _team(app) -> list:
    """TEAM test clients, each signed in as a named rater of its own; all from 127.0.0.1."""
    team = [app.test_client() for _ in range(TEAM)]
    for i, client in enumerate(team):
        sign_in_as(app, client, f"Rater {i}")
    return team


def _conversation(client) -> str:
    response = client.post("/api/conversations", json={})
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()["id"]


def _send(client, cid: str, mode: str = "single"):
    return client.post(f"/api/conversations/{cid}/turns", json={"content": "hi", "mode": mode})


def _error(response) -> tuple[int, str]:
    return response.status_code, response.get_json()["error"]["code"]


@pytest.mark.settings(
    RATELIMIT_ENABLED=True,
    RATELIMIT_API="10000/minute",
    RATELIMIT_TURNS="100/minute",
    RATELIMIT_TURNS_PER_IP="3/minute",
    GENERATIONS_PER_CLIENT=2,
    GENERATIONS_PER_ADDRESS=4,
)
def test_named_raters_behind_one_address_each_get_their_turns(app, queued, r):
    team = _team(app)
    # Ten pairs (20 generations, 10 turns) from one address whose anonymous limits are 3
    # turns a minute and 4 generations at once: each rater is held to their own limits only.
    cids = [_conversation(rater) for rater in team]
    assert [
        _send(rater, cid, "pair").status_code for rater, cid in zip(team, cids, strict=True)
    ] == [202] * TEAM
    assert len(queued) == 2 * TEAM
    # The cap per rater still holds: a third generation at once is one too many.
    refused = _send(team[0], cids[0])
    assert _error(refused) == (429, "too_many_generations")
    assert refused.get_json()["error"]["message"].startswith("Your account already has 2")

    # Anonymous clients from the same address are capped as before, at the same counts.
    anonymous = [app.test_client() for _ in range(4)]
    sent = [_send(a, _conversation(a), "pair") for a in anonymous[:2]]
    assert [s.status_code for s in sent] == [202, 202]  # four generations: the address's cap
    capped = _send(anonymous[2], _conversation(anonymous[2]))
    assert _error(capped) == (429, "too_many_generations")
    assert "network address" in capped.get_json()["error"]["message"]
    limited = _send(anonymous[3], _conversation(anonymous[3]))  # the address's 4th turn
    assert _error(limited) == (429, "rate_limited")
    # And a rater who joins the team now is not held back by the address either.
    newcomer = app.test_client()
    sign_in_as(app, newcomer, "Rater 10")
    assert _send(newcomer, _conversation(newcomer), "pair").status_code == 202


@pytest.mark.settings(
    RATELIMIT_ENABLED=True,
    RATELIMIT_API="6/minute",
    RATELIMIT_PER_IP="5/minute",
)
def test_the_address_limit_on_api_calls_holds_for_anonymous_clients_only(app, r):
    team = _team(app)
    for _ in range(3):  # 30 calls from the address, 3 from each rater
        assert [rater.get("/api/conversations").status_code for rater in team] == [200] * TEAM
    statuses = [app.test_client().get("/api/conversations").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    # Each rater's own budget still holds: 3 calls made, 3 more, then 429.
    assert [team[0].get("/api/conversations").status_code for _ in range(4)] == [200] * 3 + [429]


@pytest.mark.settings(
    RATELIMIT_ENABLED=True,
    LIMIT_NAMED_BY_ADDRESS=True,
    RATELIMIT_PER_IP="8/minute",
    GENERATIONS_PER_ADDRESS=2,
)
def test_with_limit_named_by_address_the_team_shares_the_address_again(app, queued, r):
    team = _team(app)
    statuses = [rater.get("/api/conversations").status_code for rater in team[:9]]
    assert statuses == [200] * 8 + [429]
    r.delete(*r.keys("LIMITS:*"))  # a new minute, as far as the limits know
    cids = [_conversation(rater) for rater in team[:3]]
    sent = [_send(rater, cid) for rater, cid in zip(team[:3], cids, strict=True)]
    assert [s.status_code for s in sent] == [202, 202, 429]
    assert "network address" in sent[-1].get_json()["error"]["message"]


@pytest.mark.settings(
    AUTH_MODE="invite",
    RATELIMIT_ENABLED=True,
    RATELIMIT_PER_IP="5/minute",
    RATELIMIT_TURNS_PER_IP="2/minute",
    GENERATIONS_PER_ADDRESS=2,
)
def test_in_invite_mode_the_team_is_limited_per_rater_and_strangers_per_address(app, queued, r):
    team = _team(app)
    cids = [_conversation(rater) for rater in team]
    assert [_send(rater, cid).status_code for rater, cid in zip(team, cids, strict=True)] == [
        202
    ] * TEAM
    # Nobody signed in: 401 for each call, and past the address's limit, 429.
    stranger = app.test_client()
    statuses = [stranger.get("/api/conversations").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]


# --------------------------------------------------------------------------- sockets, for real

WS_PER_CLIENT, WS_PER_ADDRESS, WS_OPENS_PER_ADDRESS = 2, 3, 5
SLOW = "Hold on #tokens=300 #delay=0.05"  # 15 s: the sockets stay open while the test runs
_held: list[websocket.WebSocket] = []  # the sockets a test opened, closed when it ends


@pytest.fixture(scope="module")
def follow_web(database_url, endpoints, run_dir, tmp_path_factory) -> Iterator[str]:
    """The Procfile's web line (two processes) and a worker, with tight limits per address;
    every test client comes from 127.0.0.1, one address, as a team behind one NAT does."""
    redis.Redis.from_url(FOLLOW_REDIS_URL).flushdb()
    logs = tmp_path_factory.mktemp("follow")
    env = stack_env(
        database_url,  # the in-process app's, where the test makes the invites
        endpoints,
        run_dir,
        REDIS_URL=FOLLOW_REDIS_URL,
        RATELIMIT_ENABLED="true",
        RATELIMIT_API="10000/minute",
        RATELIMIT_PER_IP="10000/minute",
        RATELIMIT_TURNS="10000/minute",
        RATELIMIT_TURNS_PER_IP="3/minute",
        GENERATIONS_PER_CLIENT="4",
        GENERATIONS_PER_ADDRESS="3",
        WS_MAX_PER_CLIENT=str(WS_PER_CLIENT),
        WS_MAX_PER_ADDRESS=str(WS_PER_ADDRESS),
        RATELIMIT_WS="1000/minute",
        RATELIMIT_WS_PER_IP=f"{WS_OPENS_PER_ADDRESS}/minute",
        GENERATION_READ_TIMEOUT="30",
    )
    worker = start_worker(env, logs, name="follow-worker", concurrency=16)
    web, url = start_procfile_web({**env, "WEB_CONCURRENCY": "2"}, logs)
    yield url
    web.stop()
    worker.stop()
    redis.Redis.from_url(FOLLOW_REDIS_URL).flushdb()


def _signed_in(app, url: str, name: str) -> DuetClient:
    """A browser signed in as the named rater `name` by a real invite link."""
    with app.app_context():
        token = create_invite(invite_rater(name))
        db.session.remove()
    browser = DuetClient(url)
    assert browser.get(f"/signin/{token}").status_code == 200  # followed to the page
    return browser


def _open(browser: DuetClient, tid: str) -> tuple[str, int | None]:
    """Open the turn's socket and keep it open (in `_held`): ("open", None) when it streams,
    ("close", code) when it is closed at once, ("http", status) when the upgrade is refused."""
    url = browser.base_url.replace("http", "ws", 1) + f"/ws/turns/{tid}"
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.http.cookies)
    try:
        ws = websocket.create_connection(url, cookie=cookie, timeout=20)
    except websocket.WebSocketBadStatusException as refused:
        return "http", refused.status_code
    _held.append(ws)
    opcode, data = ws.recv_data(control_frame=False)
    if opcode == websocket.ABNF.OPCODE_CLOSE:
        return "close", int.from_bytes(data[:2], "big")
    return "open", None


@pytest.mark.stack
@pytest.mark.timeout(120)
def test_stack_named_raters_behind_one_address_each_get_turns_and_sockets(app, follow_web):
    try:
        team = [_signed_in(app, follow_web, f"Team member {i}") for i in range(TEAM)]
        turns = [rater.send(rater.new_conversation(), SLOW, mode="single") for rater in team]
        # Twenty sockets from one address whose cap is three, ten raters' worth of opens
        # against the address's five a minute: each rater has their own two places.
        opened = [
            _open(rater, turn["id"]) for rater, turn in zip(team, turns, strict=True) for _ in "ab"
        ]
        assert opened == [("open", None)] * 2 * TEAM
        assert _open(team[0], turns[0]["id"]) == ("close", 4429)  # the rater's own cap

        # Anonymous clients from the same address, meanwhile: capped as before.
        strangers = [DuetClient(follow_web) for _ in range(3)]
        sent = [s.post(f"/api/conversations/{s.new_conversation()}/turns",
                       {"content": SLOW, "mode": "single"}) for s in strangers]  # fmt: skip
        assert [s.status_code for s in sent] == [202, 202, 202]
        over = strangers[0].post(f"/api/conversations/{strangers[0].new_conversation()}/turns",
                                 {"content": SLOW, "mode": "single"})  # fmt: skip
        assert over.status_code == 429  # the address's three turns a minute (and generations)
        tids = [s.json()["id"] for s in sent]
        anonymous = [
            _open(strangers[0], tids[0]),
            _open(strangers[0], tids[0]),
            _open(strangers[1], tids[1]),
            _open(strangers[1], tids[1]),  # the address's fourth socket: refused
            _open(strangers[2], tids[2]),
            _open(strangers[2], tids[2]),  # the sixth open this minute: refused before
        ]
        assert anonymous == [("open", None)] * 3 + [("close", 4429)] * 2 + [("http", 429)]
        assert _open(team[1], turns[1]["id"]) == ("close", 4429)  # team[1] holds its two
        for browser in team + strangers:
            browser.http.close()
    finally:
        while _held:
            _held.pop().close()


@pytest.mark.settings(RATELIMIT_ENABLED=True, RATELIMIT_PER_IP="3/minute")
def test_an_admin_signed_in_on_an_anonymous_deployment_is_not_limited_per_address(app, r):
    admin = app.test_client()
    sign_in_as(app, admin, "boss", ADMIN)
    calls = ["/api/admin/raters", "/api/me", "/api/conversations", "/admin"] * 4
    assert [admin.get(path).status_code for path in calls] == [200] * len(calls)
    # The address's budget for the sign-in routes (/api/me among them) is untouched.
    stranger = app.test_client()
    assert [stranger.get("/api/me").status_code for _ in range(4)] == [200] * 3 + [429]
