"""The sweep: start the processes under test once, warm them up, then for each N a direct
baseline phase and a Duet phase on the same arrivals; returns every figure."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from bench.baseline import baseline_phase
from bench.clients import http
from bench.figures import capacity, summarise, targets
from bench.load import duet_phase, prepare, warm_up
from bench.measure import (
    Sampler,
    cpu_snapshot,
    machine_info,
    rss_kib,
    wait_snapshot,
    waited,
)
from bench.options import Config
from bench.report import print_progress
from bench.services import Services, running, service_env
from bench.stamps import TOKEN_CHARS
from tests.stack import ROOT, free_port, process_tree


def run(cfg: Config) -> dict:
    """Start the stack, run the sweep, stop everything; returns the results."""
    began = time.monotonic()
    machine = machine_info()
    print(
        f"Duet relay benchmark on {machine['cores']} cores ({machine['cpu_model']}), "
        f"load average {machine['loadavg_at_start'][0]:.2f}; pairs {cfg.pairs}",
        flush=True,
    )
    run_dir = Path(tempfile.mkdtemp(prefix="duet-bench-"))
    logs = run_dir / "logs"
    logs.mkdir()
    redis_client = redis.Redis.from_url(cfg.redis_url, socket_connect_timeout=3)
    try:
        redis_client.ping()
    except Exception as exc:
        raise RuntimeError(
            f"Redis does not answer at {cfg.redis_url} (scripts/ensure-redis)"
        ) from exc
    redis_client.flushdb()

    database_url = cfg.database_url or f"sqlite:///{run_dir / 'bench.sqlite3'}"
    up_port = free_port()
    env = service_env(cfg, database_url, up_port, run_dir)
    runs: list[dict] = []
    failed = True
    try:
        with running(cfg, env, up_port, logs) as services:
            jars: list[dict] = []  # the simulated browsers' cookies, reused from one N to the next
            warm_up(cfg, services.host_port(), jars)
            idle_kib = rss_kib(process_tree(services.web.popen.pid))
            last_took = 0.0
            for pairs in cfg.pairs:
                n_began = time.monotonic()
                elapsed = n_began - began
                estimate = max(last_took, 2 * (cfg.ramp + cfg.stream_s) + 2 + 0.02 * pairs)
                if runs and elapsed + estimate > cfg.duration_cap:
                    runs.append({"pairs": pairs, "skipped": f"duration cap {cfg.duration_cap:g} s"})
                    print(f"N={pairs}: skipped (duration cap)", flush=True)
                    continue
                row = _measure(cfg, pairs, services, redis_client, jars, idle_kib)
                last_took = time.monotonic() - n_began
                runs.append(row)
                print_progress(row, time.monotonic() - began)
        failed = False
    finally:
        with contextlib.suppress(Exception):
            redis_client.flushdb()
        if failed or cfg.keep:
            print(f"logs kept in {logs}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)

    return {
        "machine": machine,
        "settings": {
            "pairs": cfg.pairs,
            "tokens": cfg.tokens,
            "token_chars": TOKEN_CHARS,
            "rate": cfg.rate,
            "ramp": cfg.ramp,
            "web_procs": cfg.web_procs,
            "web_threads": cfg.web_threads or "pairs + 16",
            "worker_procs": cfg.worker_procs,
            "worker_threads": cfg.worker_threads(),
            "worker_pool": cfg.worker_pool,
            "web_pool": cfg.web_pool,
            "database": "SQLite" if database_url.startswith("sqlite") else "PostgreSQL",
            "redis_version": redis_client.info("server").get("redis_version"),
        },
        "runs": runs,
        "capacity": {
            "pairs": capacity(runs),
            "criteria": "largest N, with every smaller N, where retention >= 0.99, added "
            "per-token latency p99 <= 50 ms and every slot done",
        },
        "targets": targets(runs),
        "source": _source(),
        "duration_s": round(time.monotonic() - began, 1),
    }


def _measure(
    cfg: Config,
    pairs: int,
    services: Services,
    redis_client: redis.Redis,
    jars: list[dict],
    idle_kib: int,
) -> dict:
    """One N: the browsers, the baseline phase, then the Duet phase, each after a drain."""
    base, up_port = services.host_port(), services.up_port
    steps: dict[str, float] = {}
    t = time.monotonic()
    browsers = asyncio.run(prepare(base, pairs, jars))
    steps["prepare"] = time.monotonic() - t
    pids = {
        "web": process_tree(services.web.popen.pid),
        "worker": [p for w in services.workers for p in process_tree(w.popen.pid)],
        "upstream": process_tree(services.upstream.popen.pid),
    }
    steps["drain_before"] = _drain(up_port, redis_client)
    _upstream(up_port, "POST", "/reset")
    t = time.monotonic()
    base_before = cpu_snapshot(pids, redis_client)
    base_tally = asyncio.run(baseline_phase(cfg, pairs, up_port))
    base_after = cpu_snapshot(pids, redis_client)
    steps["baseline"] = time.monotonic() - t
    base_up = _upstream(up_port, "GET", "/stats")
    steps["drain_between"] = _drain(up_port, redis_client)
    _upstream(up_port, "POST", "/reset")
    sampler = Sampler(pids["web"], idle_kib)
    before = cpu_snapshot(pids, redis_client)
    waits_before = wait_snapshot(pids)
    t = time.monotonic()
    duet_tally = asyncio.run(duet_phase(cfg, base, browsers, sampler))
    steps["duet"] = time.monotonic() - t
    after = cpu_snapshot(pids, redis_client)
    waits = waited(waits_before, wait_snapshot(pids))
    duet_up = _upstream(up_port, "GET", "/stats")
    cpu = {k: after[k] - before[k] for k in before}
    base_cpu = {k: base_after[k] - base_before[k] for k in base_before}
    return summarise(
        cfg,
        pairs,
        base_tally,
        duet_tally,
        base_up,
        duet_up,
        cpu,
        base_cpu,
        waits,
        sampler,
        steps,
        services.threads,
    )


def _upstream(port: int, method: str, path: str) -> dict:
    """The upstream's counters: `GET /stats`, or `POST /reset` to zero them."""
    status, body = asyncio.run(http("127.0.0.1", port, method, path))
    assert status == 200, body
    return json.loads(body)


def _drain(up_port: int, redis_client: redis.Redis, timeout: float = 30.0) -> float:
    """Wait until no model stream is open and no task is queued (streams a timed-out phase
    left behind would load the next one); returns the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        stats = _upstream(up_port, "GET", "/stats")
        if not stats["open"] and not redis_client.llen("celery"):
            break
        time.sleep(0.2)
    return time.monotonic() - began


def _source() -> dict:
    """The commit measured, and whether the work tree had changes on top of it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "dirty": bool(status)}
