"""Redis restarts (down a few seconds, back empty) while pairs stream, while slots wait in
the queue, or while all is idle: every slot ends `done` with the exact text, shown and
stored, and the worker runs generations at full concurrency again within seconds, without
a restart by hand."""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field

import pytest
import websocket

from tests.client import DuetClient
from tests.conftest import stack_env
from tests.fake_llm import expected_text
from tests.stack import free_port, start_web, start_worker
from tests.test_redis_outage import RedisServer

pytestmark = [
    pytest.mark.stack,
    pytest.mark.timeout(240),
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server"),
]

PAIRS = 20
DOWN_SECONDS = 4.0


@dataclass
class Reader:
    """One browser tab on a paired turn: reads its socket, reconnecting with `after_*` as
    the page does, and assembles each slot's text as the page does (a `reset` drops it)."""

    browser: DuetClient
    cid: str
    tid: str
    content: str
    tokens: dict = field(default_factory=lambda: {"a": {}, "b": {}})
    terminals: dict = field(default_factory=lambda: {"a": [], "b": []})
    resets: dict = field(default_factory=lambda: {"a": 0, "b": 0})
    twice: list = field(default_factory=list)  # a slot's terminal twice on one connection
    connections: int = 0
    closes: list = field(default_factory=list)  # how each connection ended, for failures
    ended: bool = False
    ended_at: float | None = None  # monotonic

    def held(self, slot: str) -> int:
        """The last seq held without a gap."""
        seq = 0
        while seq + 1 in self.tokens[slot]:
            seq += 1
        return seq

    def text(self, slot: str) -> str:
        """The slot's text as shown: its tokens in seq order since the last reset."""
        return "".join(self.tokens[slot][s] for s in range(1, self.held(slot) + 1))

    def _handle(self, event: dict, seen: set[str]) -> None:
        slot = event.get("slot")
        if event["type"] == "token":
            self.tokens[slot].setdefault(event["seq"], event["text"])
        elif event["type"] == "reset":
            self.tokens[slot].clear()
            self.resets[slot] += 1
        elif event["type"] in ("done", "error", "cancelled"):
            if slot in seen:
                self.twice.append(event)
            seen.add(slot)
            self.terminals[slot].append(event)
        elif event["type"] == "end":
            self.ended, self.ended_at = True, time.monotonic()

    def run(self, deadline: float) -> None:
        """Read until `end`, or until `deadline`."""
        while not self.ended and time.monotonic() < deadline:
            held = {s: self.held(s) for s in "ab"}
            query = "&".join(f"after_{s}={n}" for s, n in held.items() if n)
            try:
                ws = self.browser.connect(self.tid, f"?{query}" if query else "", timeout=10)
            except Exception as exc:
                self.closes.append(f"open: {exc!r}"[:80])
                time.sleep(0.3)  # Redis is down: the page retries too
                continue
            self.connections += 1
            seen: set[str] = set()
            try:
                while not self.ended:
                    opcode, data = ws.recv_data()
                    if opcode == websocket.ABNF.OPCODE_CLOSE:
                        self.closes.append(data[:40])
                        break
                    self._handle(json.loads(data), seen)
            except Exception as exc:
                self.closes.append(repr(exc)[:80])  # a dropped socket: reconnect and resume
            finally:
                ws.close()
            if not self.ended:
                time.sleep(0.3)

    def shown(self) -> int:
        """Characters on screen now, both slots."""
        return len(self.text("a")) + len(self.text("b"))


def _expected(endpoints: list[dict], content: str, text: str) -> str:
    name = text[1 : text.index("]")] if "]" in text else "?"
    params = next((e["params"] for e in endpoints if e["name"] == name), None)
    if params is None:
        return f"<no endpoint named {name!r}>"
    return expected_text(name, [{"role": "user", "content": content}], params)


def _start_pairs(url: str, count: int, label: str, model: str) -> list[Reader]:
    readers = []
    for i in range(count):
        browser = DuetClient(url)
        cid = browser.new_conversation()
        content = f"{label} {i} {model}"
        turn = browser.send(cid, content, mode="pair")
        readers.append(Reader(browser, cid, turn["id"], content))
    return readers


def _read_all(readers: list[Reader], timeout: float) -> list[threading.Thread]:
    deadline = time.monotonic() + timeout
    threads = [threading.Thread(target=r.run, args=(deadline,), daemon=True) for r in readers]
    for thread in threads:
        thread.start()
    return threads


def _problems(readers: list[Reader], endpoints: list[dict]) -> list[str]:
    """Why each slot is not exactly right: not ended, not `done`, a text that differs."""
    found = []
    for n, reader in enumerate(readers):
        if not reader.ended:
            found.append(
                f"pair {n}: no end event; {reader.connections} sockets, {reader.closes[-3:]}"
            )
        stored = {r["slot"]: r for r in reader.browser.turn(reader.cid, reader.tid)["responses"]}
        for slot in "ab":
            kinds = {e["type"] for e in reader.terminals[slot]}
            shown = reader.text(slot)
            want = _expected(endpoints, reader.content, shown)
            row = stored[slot]
            if kinds != {"done"}:
                ended = reader.terminals[slot]
                found.append(f"pair {n} {slot}: ended {ended}, row {row['status']}")
            if shown != want:
                found.append(f"pair {n} {slot}: shown {len(shown)} of {len(want)} chars")
            if row["content"] != shown:
                found.append(
                    f"pair {n} {slot}: stored {len(row['content'] or '')} chars, "
                    f"shown {len(shown)} ({row['status']})"
                )
        if reader.twice:
            found.append(f"pair {n}: a terminal event twice on one socket: {reader.twice}")
    return found


def _burst_seconds(url: str, endpoints: list[dict], label: str) -> tuple[float, list[str]]:
    """Time for 10 pairs of 2 s answers sent at once; a worker running them one at a time
    takes 40 s."""
    started = time.monotonic()
    readers = _start_pairs(url, 10, label, "#tokens=40 #delay=0.05")
    for thread in _read_all(readers, 60):
        thread.join()
    return time.monotonic() - started, _problems(readers, endpoints)


@pytest.fixture(scope="module")
def restart_stack(own_database, endpoints, run_dir, tmp_path_factory):
    """Web and worker as in the Procfile (2 web processes, a worker of 100 greenlets or
    threads), on a redis-server of their own that the tests restart empty."""
    workdir = tmp_path_factory.mktemp("restart")
    server = RedisServer(free_port(), workdir)
    server.start()
    env = stack_env(
        own_database("restart"),
        endpoints,
        run_dir,
        REDIS_URL=f"redis://127.0.0.1:{server.port}/0",
    )
    web, url = start_web(env, workdir, workers=2, threads=32)
    worker = start_worker(env, workdir, name="restart", concurrency=100)
    yield server, url, worker
    web.stop()
    worker.stop()
    if server.process and server.process.poll() is None:
        server.kill()


def _restart(server: RedisServer) -> None:
    server.kill()
    time.sleep(DOWN_SECONDS)
    server.start()  # empty: no RDB, no AOF


def test_a_redis_restart_while_idle_leaves_the_worker_at_full_concurrency(restart_stack, endpoints):
    server, url, worker = restart_stack
    _restart(server)
    time.sleep(3)  # the worker reconnects to the broker

    seconds, problems = _burst_seconds(url, endpoints, "After an idle restart")
    print(f"redis restart while idle: 10 pairs after it took {seconds:.1f} s")

    assert problems == [], (seconds, problems)
    assert seconds < 10, (seconds, worker.log()[-3000:])


def test_a_redis_restart_mid_stream_loses_nothing_and_throughput_comes_back(
    restart_stack, endpoints
):
    server, url, worker = restart_stack
    readers = _start_pairs(url, PAIRS, "Through the restart", "#tokens=150 #delay=0.04")
    threads = _read_all(readers, 90)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(r.held("a") < 5 or r.held("b") < 5 for r in readers):
        time.sleep(0.1)
    shown_before = [r.shown() for r in readers]
    assert min(shown_before) > 0, "not every pair was streaming"

    _restart(server)
    restarted_at = time.monotonic()
    for thread in threads:
        thread.join()

    problems = _problems(readers, endpoints)
    assert problems == [], problems
    # Throughput is back: 10 more pairs run at once, not one slot at a time.
    since = time.monotonic() - restarted_at
    seconds, problems = _burst_seconds(url, endpoints, "After a restart mid-stream")
    print(
        f"redis restart under {PAIRS} pairs: {sum(shown_before)} chars shown before it, "
        f"{sum(r.connections for r in readers)} sockets opened, "
        f"{sum(r.resets['a'] + r.resets['b'] for r in readers)} resets; "
        f"10 pairs after it ({since:.1f} s after the restart) took {seconds:.1f} s"
    )
    assert problems == [], problems
    assert seconds < 10, (seconds, since, worker.log()[-3000:])
    # Their worker lived, so each slot went on where it was instead of starting again.
    assert [r.resets for r in readers] == [{"a": 0, "b": 0}] * PAIRS


def test_slots_still_queued_when_redis_restarts_are_queued_again(restart_stack, endpoints):
    server, url, worker = restart_stack
    os.killpg(worker.popen.pid, signal.SIGSTOP)  # too busy to take them: they stay queued
    try:
        readers = _start_pairs(url, 5, "Queued through the restart", "#tokens=20 #delay=0.02")
        _restart(server)  # their messages go with the old Redis
    finally:
        os.killpg(worker.popen.pid, signal.SIGCONT)
    started = time.monotonic()
    for thread in _read_all(readers, 45):
        thread.join()

    problems = _problems(readers, endpoints)
    assert problems == [], problems
    # The sockets' watchdog queues them again as soon as it runs, not after the queue
    # timeout (300 s).
    took = [(round((r.ended_at or 0) - started, 1), r.connections, r.closes[-2:]) for r in readers]
    assert time.monotonic() - started < 30, (took, worker.log()[-4000:])
