"""Several web and worker processes on one Redis, and fifty people pairing at once."""

from __future__ import annotations

import pytest
import redis

from tests.client import DuetClient, at_once, pair_mismatch
from tests.conftest import STACK_REDIS_URL, stack_env
from tests.stack import start_web, start_worker

pytestmark = [pytest.mark.stack, pytest.mark.timeout(240)]

_base, _db = STACK_REDIS_URL.rsplit("/", 1)
SCALE_REDIS_URL = f"{_base}/{int(_db) - 3}"


@pytest.fixture(scope="module")
def cluster(own_database, endpoints, run_dir, tmp_path_factory):
    """Two gunicorn servers (two processes each) and two Celery workers, one Redis."""
    redis.Redis.from_url(SCALE_REDIS_URL).flushdb()
    logs = tmp_path_factory.mktemp("cluster")
    env = stack_env(
        own_database("scale"),
        endpoints,
        run_dir,
        REDIS_URL=SCALE_REDIS_URL,
        GENERATION_READ_TIMEOUT="30",
    )
    workers = [start_worker(env, logs, name=f"w{i}", concurrency=60) for i in (1, 2)]
    webs = [start_web(env, logs, workers=2, threads=40) for _ in (1, 2)]
    yield [url for _, url in webs], workers
    for process in [w for w, _ in webs] + workers:
        process.stop()
    redis.Redis.from_url(SCALE_REDIS_URL).flushdb()


def test_a_socket_on_one_server_relays_generations_run_by_any_worker(cluster, endpoints):
    (first_web, second_web), workers = cluster
    poster = DuetClient(first_web)
    watcher = DuetClient(second_web)
    watcher.http.cookies.update(poster.http.cookies)  # the same browser, another web process
    turns = []
    for i in range(6):
        cid = poster.new_conversation()
        content = f"Spread {i} #tokens=30 #delay=0.01"
        turns.append((content, poster.send(cid, content, mode="pair")["id"]))
    for content, tid in turns:
        assert pair_mismatch(watcher.stream(tid), endpoints, content) is None
    for worker in workers:  # both workers generated some of the slots
        assert any(f"turn={tid}" in worker.log() for _, tid in turns), worker.name
    poster.http.close()
    watcher.http.close()


def test_fifty_people_pairing_at_once_all_get_exact_text(cluster, endpoints):
    urls, _ = cluster

    def person(i: int) -> str | None:
        browser = DuetClient(urls[i % 2])
        cid = browser.new_conversation()
        content = f"Person {i} asks #tokens=40 #delay=0.02"
        turn = browser.send(cid, content, mode="pair")
        why = pair_mismatch(browser.stream(turn["id"], timeout=120), endpoints, content)
        browser.http.close()
        return why

    results = at_once(50, person)
    assert {i: why for i, why in results.items() if why} == {}
