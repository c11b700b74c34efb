"""A worker killed mid-stream: its slots restart cleanly, or fail cleanly, never hang."""

from __future__ import annotations

import json
import signal
import time

import pytest
import redis

from app.streaming import failures
from tests.client import DuetClient
from tests.conftest import STACK_REDIS_URL, stack_env
from tests.fake_llm import expected_text
from tests.stack import start_web, start_worker

pytestmark = [pytest.mark.stack, pytest.mark.timeout(120)]

_base, _db = STACK_REDIS_URL.rsplit("/", 1)
FAULT_REDIS_URL = f"{_base}/{int(_db) - 2}"


@pytest.fixture
def fault_stack(own_database, endpoints, run_dir, tmp_path):
    """A web process and a worker of their own, with short leases, on their own Redis db
    and database."""
    redis.Redis.from_url(FAULT_REDIS_URL).flushdb()
    env = stack_env(
        own_database("faults"),
        endpoints,
        run_dir,
        REDIS_URL=FAULT_REDIS_URL,
        SLOT_LEASE_SECONDS="2",
        SLOT_RESTART_WAIT="4",
        SLOT_SWEEP_INTERVAL="1",
    )
    web, url = start_web(env, tmp_path, workers=1, threads=8)
    worker = start_worker(env, tmp_path, name="doomed")
    processes = {"web": web, "worker": worker}
    yield env, url, processes, tmp_path
    for process in processes.values():
        process.stop(signal.SIGKILL)
    redis.Redis.from_url(FAULT_REDIS_URL).flushdb()


def _kill_once_streaming(browser, tid: str, worker) -> list[dict]:
    """Read the socket until both slots have streamed a little, then kill -9 the worker."""
    ws = browser.connect(tid)
    events: list[dict] = []
    while sum(1 for e in events if e["type"] == "token") < 10:
        events.append(json.loads(ws.recv()))
    worker.stop(signal.SIGKILL)
    ws.close()
    return events


def test_a_killed_worker_s_slots_restart_with_a_reset_and_finish_exactly(fault_stack, endpoints):
    env, url, processes, logs = fault_stack
    browser = DuetClient(url)
    cid = browser.new_conversation()
    content = "Survive #tokens=120 #delay=0.03"
    turn = browser.send(cid, content, mode="pair")
    _kill_once_streaming(browser, turn["id"], processes["worker"])
    processes["worker"] = start_worker(env, logs, name="rescuer")

    stream = browser.stream(turn["id"], timeout=60)  # joins late: replays, then follows

    context = [{"role": "user", "content": content}]
    for slot in "ab":
        text = stream.text(slot)
        name = text[1 : text.index("]")]
        params = next(e for e in endpoints if e["name"] == name)["params"]
        assert text == expected_text(name, context, params)
        assert [e["type"] for e in stream.terminals(slot)] == ["done"]
        # The old attempt's text was dropped by exactly one reset.
        events = stream.of_slot(slot)
        assert [e["type"] for e in events].count("reset") == 1, [
            (e["type"], e.get("seq"), e.get("attempt"), e.get("id"))
            for e in events
            if e["type"] != "token" or e["seq"] == 1
        ]
    assert stream.events[-1] == {"type": "end"}
    saved = browser.turn(cid, turn["id"])["responses"]
    assert [r["status"] for r in saved] == ["done", "done"]
    assert [r["content"] for r in saved] == [stream.text("a"), stream.text("b")]
    browser.http.close()


def test_with_no_worker_left_the_slots_fail_within_the_bound(fault_stack):
    _, url, processes, _ = fault_stack
    browser = DuetClient(url)
    cid = browser.new_conversation()
    turn = browser.send(cid, "Doomed #tokens=200 #delay=0.05", mode="pair")
    _kill_once_streaming(browser, turn["id"], processes["worker"])
    killed_at = time.monotonic()

    stream = browser.stream(turn["id"], timeout=60)

    waited = time.monotonic() - killed_at
    for slot in "ab":
        (terminal,) = stream.terminals(slot)
        assert terminal["type"] == "error"
        assert terminal["message"] == failures.LOST
    assert stream.events[-1] == {"type": "end"}
    # lease 2 s + watch 3 s + restart wait 4 s + watch 3 s, with room for a slow machine
    assert waited < 45, waited
    assert [r["status"] for r in browser.turn(cid, turn["id"])["responses"]] == ["error"] * 2
    browser.http.close()


def test_a_dead_worker_s_slots_are_restarted_even_when_nobody_watches(fault_stack, endpoints):
    from sqlalchemy import create_engine, text

    from config import normalise_database_url

    env, url, processes, logs = fault_stack
    browser = DuetClient(url)
    cid = browser.new_conversation()
    turn = browser.send(cid, "Unwatched #tokens=60 #delay=0.03", mode="pair")
    _kill_once_streaming(browser, turn["id"], processes["worker"])  # then the page is closed
    processes["worker"] = start_worker(env, logs, name="sweeper")

    engine = create_engine(normalise_database_url(env["DATABASE_URL"]))
    query = text("SELECT slot, status, content FROM responses WHERE turn_id = :t ORDER BY slot")
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            with engine.connect() as conn:
                rows = conn.execute(query, {"t": turn["id"]}).all()
            if all(status != "streaming" for _, status, _ in rows):
                break
            time.sleep(0.5)
    finally:
        engine.dispose()
    assert [status for _, status, _ in rows] == ["done", "done"]
    context = [{"role": "user", "content": "Unwatched #tokens=60 #delay=0.03"}]
    for _, _, content in rows:
        name = content[1 : content.index("]")]
        params = next(e for e in endpoints if e["name"] == name)["params"]
        assert content == expected_text(name, context, params)
    browser.http.close()
