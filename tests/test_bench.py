"""Smoke test of the relay benchmark (`python -m bench.relay --quick`), so it cannot rot.

It checks that the script runs the whole stack at N=1 and reports complete, well-formed
figures. It asserts no timing: the figures are for reading (bench/README.md).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.measure import cpu_seconds, run_queue_seconds
from bench.stamps import WRAP, encode_stamp, token_lags
from tests.conftest import STACK_REDIS_URL
from tests.stack import ROOT, process_tree

# The test suite's Redis, database 10: 15 and 14 are the stack's and the app's, 13, 12 and 11
# the fault, scale and local-model stacks'.
BENCH_REDIS_URL = STACK_REDIS_URL.rsplit("/", 1)[0] + "/10"


def test_cpu_seconds_reads_what_a_process_has_used():
    before = cpu_seconds([os.getpid()])
    deadline = time.process_time() + 0.1
    while time.process_time() < deadline:  # 100 ms of CPU: ten ticks at least
        pass
    assert cpu_seconds([os.getpid()]) - before >= 0.05
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert cpu_seconds([gone.pid]) == 0  # a process that is gone counts nothing


_KEEPS_SCHEDSTAT = Path(f"/proc/self/task/{os.getpid()}/schedstat").exists()


@pytest.mark.skipif(not _KEEPS_SCHEDSTAT, reason="this kernel keeps no schedstat")
def test_run_queue_seconds_sums_the_threads_of_living_processes():
    mine = run_queue_seconds([os.getpid()])
    assert mine is not None and mine >= 0
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert run_queue_seconds([gone.pid]) is None  # nothing to read: unknown, not zero
    assert run_queue_seconds([os.getpid(), gone.pid]) >= mine


def test_tokens_carry_their_emit_time() -> None:
    emitted = 1_732_660_000_123_456_789
    token = encode_stamp(emitted)
    assert len(token) == 4
    lags: list[int] = []
    # 12.34 ms later, and again across the wrap of the 2^24-tick window
    assert token_lags(token + token, emitted + 12_340_000, lags) == 2
    assert lags == [1234, 1234]
    wrapped = (emitted // 10_000 // WRAP + 1) * WRAP * 10_000 - 10_000  # last tick before a wrap
    lags.clear()
    token_lags(encode_stamp(wrapped), wrapped + 50_000, lags)
    assert lags == [5]
    with pytest.raises(ValueError):
        token_lags("abc", emitted, lags)


@pytest.mark.stack
@pytest.mark.timeout(150)
def test_quick_run_reports_complete_figures(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.relay",
            "--quick",
            "--json",
            str(out),
            "--redis-url",
            BENCH_REDIS_URL,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "cores" in done.stdout  # the machine is stated

    result = json.loads(out.read_text())
    assert result["machine"]["cores"] >= 1
    assert {"runs", "capacity", "targets", "settings", "duration_s"} <= result.keys()
    (run,) = result["runs"]
    assert run["pairs"] == 1
    tokens = result["settings"]["tokens"]
    expected = 2 * tokens
    assert run["tokens"]["expected"] == expected
    assert run["tokens"]["emitted_upstream"] == expected
    assert run["tokens"]["delivered"] == expected
    assert run["tokens"]["baseline_delivered"] == expected
    for phase in ("duet", "baseline"):
        outcome = run[phase]
        assert outcome["streams"] == outcome["done"] == 2, run
        assert outcome["short"] == outcome["seq_gaps"] == outcome["malformed"] == 0
    assert run["errors"] == []
    assert run["retention"] > 0
    assert run["throughput_tokens_per_s"]["baseline_retention"] > 0
    # the quick run has no arrival ramp: the phase's best rate is the steady one
    throughput = run["throughput_tokens_per_s"]
    assert throughput["nominal_over_phase"] == throughput["nominal"]
    for figure in ("ttft_ms", "token_latency_ms"):
        for side in ("duet", "baseline", "added"):
            assert run[figure][side]["p50"] is not None
            assert run[figure][side]["p99"] is not None
        assert run[figure]["duet"]["p50"] > 0
    # The kernel counts CPU time in 10 ms ticks, sampled: a 40-token run's 20-40 ms of the
    # web's CPU may land on none of them. The reader itself is tested below.
    assert run["web_cpu_s_per_1k_tokens"] >= 0
    assert run["rss_per_socket_kib"] >= 0
    assert run["cpu_s"]["web"] >= 0
    assert set(run["cpu_ms_per_token"]) == {"web", "worker", "redis", "upstream", "bench_clients"}
    relay_cpu = run["relay_cpu_ms_per_token"]  # the headline columns
    assert relay_cpu["total"] == pytest.approx(relay_cpu["web"] + relay_cpu["worker"], abs=0.002)
    assert run["wire_bytes_per_token"]["duet"] > 0
    assert run["wire_bytes_per_token"]["baseline"] > 0
    waiting = run["cpu_cores_waiting"]
    assert set(waiting) == {"web", "worker", "upstream"}
    assert all(v is None or v >= 0 for v in waiting.values())
    if _KEEPS_SCHEDSTAT:
        assert waiting["web"] is not None  # the kernel keeps it, so the run reports it
    assert set(run["ttft_ms"]["breakdown"]) == {
        "post_turn",
        "post_to_upstream_request",
        "first_token_relay",
        "websocket_upgrade",
    }
    assert result["capacity"]["criteria"]


def _command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""  # gone meanwhile


@pytest.mark.stack
@pytest.mark.timeout(150)
def test_a_terminated_run_stops_the_processes_it_started(tmp_path: Path) -> None:
    """Killed with SIGTERM, the benchmark stops its model, worker and web as Ctrl-C does: a
    Celery worker left behind would take the tasks of the next run on the same Redis."""
    args = ["--pairs", "1", "--tokens", "2000", "--json", str(tmp_path / "r.json")]
    bench = subprocess.Popen(
        [sys.executable, "-m", "bench.relay", *args, "--redis-url", BENCH_REDIS_URL],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        started: dict[int, str] = {}
        while time.monotonic() < deadline and bench.poll() is None:
            started = {p: _command_line(p) for p in process_tree(bench.pid) if p != bench.pid}
            if any("gunicorn" in c for c in started.values()):  # the last one it starts
                break
            time.sleep(0.2)
        assert any("celery" in c for c in started.values()), started
        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=60) == 128 + signal.SIGTERM
        left = {}
        for pid in started:
            try:
                os.kill(pid, 0)
                left[pid] = started[pid]
            except ProcessLookupError:
                pass
        assert left == {}
    finally:
        if bench.poll() is None:
            bench.kill()
