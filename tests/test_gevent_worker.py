"""The Celery worker on the gevent pool (WORKER_POOL=gevent): exact streams, stops that stop.

Every generation of a gevent worker shares one thread, so one that blocks in C (SQLite waiting
for a lock another generation holds across a Redis call, say) would stall them all.
"""

from __future__ import annotations

import time

import pytest
import redis

from tests.client import DuetClient, at_once, pair_mismatch
from tests.conftest import STACK_REDIS_URL, stack_env
from tests.fake_llm import expected_text
from tests.stack import start_web, start_worker

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]

_base, _db = STACK_REDIS_URL.rsplit("/", 1)
GEVENT_REDIS_URL = f"{_base}/{int(_db) - 6}"


@pytest.fixture(scope="module")
def site(own_database, endpoints, run_dir, tmp_path_factory):
    """One gunicorn server and one gevent Celery worker."""
    redis.Redis.from_url(GEVENT_REDIS_URL).flushdb()
    logs = tmp_path_factory.mktemp("gevent")
    env = stack_env(own_database("gevent"), endpoints, run_dir, REDIS_URL=GEVENT_REDIS_URL)
    worker = start_worker(env, logs, name="gevent", concurrency=100, pool="gevent")
    web, url = start_web(env, logs, workers=1, threads=60)
    yield url
    for process in (web, worker):
        process.stop()
    redis.Redis.from_url(GEVENT_REDIS_URL).flushdb()


def test_twenty_five_pairs_at_once_stream_exactly_and_are_saved(site, endpoints):
    def person(i: int) -> str | None:
        browser = DuetClient(site)
        cid = browser.new_conversation()
        content = f"Gevent {i} #tokens=40 #delay=0.01"
        turn = browser.send(cid, content, mode="pair")
        stream = browser.stream(turn["id"], timeout=120)
        why = pair_mismatch(stream, endpoints, content)
        saved = {r["slot"]: r for r in browser.turn(cid, turn["id"])["responses"]}
        if why is None and any(
            saved[s]["content"] != stream.text(s) or saved[s]["status"] != "done" for s in "ab"
        ):
            why = f"saved rows differ from the stream: {saved}"
        browser.http.close()
        return why

    results = at_once(25, person)
    assert {i: why for i, why in results.items() if why} == {}


def test_stop_ends_both_slots_with_the_text_shown(site, endpoints):
    browser = DuetClient(site)
    cid = browser.new_conversation()
    content = "A long one #tokens=2000 #delay=0.01"
    turn = browser.send(cid, content, mode="pair")
    socket = browser.connect(turn["id"])
    time.sleep(0.5)
    assert browser.post(f"/api/turns/{turn['id']}/cancel", {}).status_code == 202
    socket.close()
    stream = browser.stream(turn["id"], timeout=30)
    saved = {r["slot"]: r for r in browser.turn(cid, turn["id"])["responses"]}
    for slot in "ab":
        assert [e["type"] for e in stream.terminals(slot)] == ["cancelled"]
        assert saved[slot]["status"] == "cancelled"
        text = stream.text(slot)
        assert saved[slot]["content"] == text
        name = text[1 : text.index("]")]
        params = next(e for e in endpoints if e["name"] == name)["params"]
        full = expected_text(name, [{"role": "user", "content": content}], params)
        assert full.startswith(text) and len(text) < len(full)  # stopped part-way
    browser.http.close()
