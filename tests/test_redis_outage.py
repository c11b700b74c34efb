"""Redis goes away mid-stream and comes back: clear 503s, no hang, recovery without restarts,
and the slot that was streaming ends `done` with its exact text."""

from __future__ import annotations

import json
import shutil
import signal
import time

import pytest
import requests

from tests.client import DuetClient, TurnStream
from tests.conftest import stack_env
from tests.fake_llm import expected_text
from tests.stack import free_port, redis_server, start_web, start_worker

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]


class RedisServer:
    """A throwaway redis-server of the test's own, to stop and start at will."""

    def __init__(self, port: int, workdir) -> None:
        self.port, self.workdir, self.process = port, workdir, None

    def start(self) -> None:
        """Start it and wait until it answers."""
        self.process = redis_server(self.port, self.workdir)
        for _ in range(100):
            try:
                import redis

                redis.Redis(port=self.port).ping()
                return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        """Stop it at once, as a crash would."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(5)


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _status(url: str) -> int:
    try:
        return requests.get(url, timeout=3).status_code
    except requests.RequestException:
        return 0


def _resume(browser: DuetClient, tid: str, query: str) -> TurnStream:
    """The turn's stream, reconnecting as the page does when the server closes with 1011
    ("reconnect to resume") before sending anything: in the second after a failed Redis
    connection, a web process refuses new subscriptions at once rather than let every
    socket wait through a connect timeout, even when Redis is back already."""
    for _ in range(20):
        resumed = browser.stream(tid, query, timeout=90)
        if resumed.events or resumed.close_code != 1011:
            return resumed
        time.sleep(0.25)
    raise AssertionError("every reconnect was refused")


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_redis_outage_gives_503s_then_everything_recovers(
    own_database, endpoints, run_dir, tmp_path
):
    server = RedisServer(free_port(), tmp_path)
    server.start()
    env = stack_env(
        own_database("outage"),
        endpoints,
        run_dir,
        REDIS_URL=f"redis://127.0.0.1:{server.port}/0",
        SLOT_LEASE_SECONDS="2",
        SLOT_RESTART_WAIT="6",
    )
    web, url = start_web(env, tmp_path, workers=1, threads=8)
    worker = start_worker(env, tmp_path, name="outage")
    browser = DuetClient(url)
    try:
        cid = browser.new_conversation()
        content = "Outlive the outage #tokens=200 #delay=0.05"
        turn = browser.send(cid, content, mode="single")
        ws = browser.connect(turn["id"], timeout=30)
        first = json.loads(ws.recv())  # streaming has begun
        assert first["type"] == "token" and first["seq"] == 1

        server.kill()

        _wait(lambda: _status(url + "/healthz") == 503, 20, "/healthz to say 503")
        health = requests.get(url + "/healthz", timeout=5).json()
        assert health["redis"].startswith("unreachable") and health["database"] == "ok"
        refused = browser.post(f"/api/conversations/{cid}/turns", {"content": "now?"})
        assert refused.status_code == 503
        assert refused.json()["error"]["code"] == "unavailable"
        assert "Traceback" not in refused.text
        # The open socket does not hang: it is closed, and the client will reconnect.
        ws.settimeout(30)
        while True:
            opcode, _ = ws.recv_data()
            if opcode == 8:  # close
                break

        server.start()  # back, empty, as a Redis without persistence comes back

        _wait(lambda: _status(url + "/healthz") == 200, 30, "/healthz to recover")
        # The interrupted slot rode out the outage and ends exactly once, `done`: it went on
        # where the socket left it (its generation put the slot back into the empty Redis),
        # or, if it had been taken for lost, restarted from scratch.
        resumed = _resume(browser, turn["id"], "?after_a=1")
        (terminal,) = resumed.terminals("a")
        assert terminal["type"] == "done", terminal
        events = resumed.of_slot("a")
        if events[0]["type"] == "reset":
            shown = resumed.text("a")
        else:
            assert events[0]["seq"] == 2
            shown = first["text"] + resumed.text("a")
        name = shown[1 : shown.index("]")]  # the fake answers "[alpha] ..." or "[beta] ..."
        params = next(e["params"] for e in endpoints if e["name"] == name)
        want = expected_text(name, [{"role": "user", "content": content}], params)
        assert shown == want
        assert browser.turn(cid, turn["id"])["responses"][0]["content"] == want
        # New turns work without restarting web or worker.
        fresh = browser.send(cid, "And after? #tokens=10")
        stream = browser.stream(fresh["id"], timeout=60)
        assert [e["type"] for e in stream.terminals("a")] == ["done"]
    finally:
        browser.http.close()
        web.stop()
        worker.stop()
        if server.process and server.process.poll() is None:
            server.kill()
