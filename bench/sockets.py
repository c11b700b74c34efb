"""Socket benchmark: idle websockets and half-open requests held against ONE web process.

    .venv/bin/python -m bench.sockets                      # 2,000 websockets, 200 half-open
    .venv/bin/python -m bench.sockets --websockets 500 --half-open 50 --hold 10

The Procfile's own `web:` line (WEB_CONCURRENCY=1), a Celery worker, a private redis-server,
SQLite and the test suite's fake model, all on loopback. One client holds the websockets on
a turn whose model has not answered yet (open, nothing flowing but the 25 s pings); an
attacker keeps the half-open requests (a request line and one header, then silence) at
their number, opening a new one whenever the server's header timeout closes one. Meanwhile
an ordinary client measures `/healthz` (a call every 50 ms, 10 s in all: the relays'
periodic work falls inside) and a paired turn's first token, as it did before the load.
Prints a table; the caps are raised for the run (WS_MAX_PER_CLIENT and so on).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from tests.client import DuetClient
from tests.fake_llm import FakeLLM
from tests.stack import ROOT, start_private_redis, start_procfile_web, start_worker


def _rss_kb(master: int) -> int:
    """Resident memory of the gunicorn master's worker processes (the one web), in kB."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            lines = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        if int(fields.get("PPid", "0")) == master and "VmRSS" in fields:
            total += int(fields["VmRSS"].split()[0])
    return total


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _ordinary_client(url: str, requests_count: int, every: float) -> dict:
    """/healthz times (ms), one call every `every` seconds (so the calls span the relays'
    periodic work), and a paired turn's first token (ms after its POST)."""
    times = []
    with requests.Session() as http:
        for _ in range(requests_count):
            start = time.monotonic()
            ok = http.get(url + "/healthz", timeout=10).status_code == 200
            times.append((time.monotonic() - start) * 1000 if ok else 10_000)
            time.sleep(max(0.0, every - (time.monotonic() - start)))
    browser = DuetClient(url)
    cid = browser.new_conversation()
    start = time.monotonic()
    turn = browser.send(cid, "An ordinary question #tokens=20 #delay=0.01", mode="pair")
    stream = browser.stream(turn["id"], timeout=30)
    browser.http.close()
    done = sum(1 for e in stream.events if e["type"] == "done")
    return {
        "healthz_p50_ms": _percentile(times, 0.5),
        "healthz_p99_ms": _percentile(times, 0.99),
        "first_token_ms": (stream.times[0] - start) * 1000 if stream.times else None,
        "pair_done": done == 2,
    }


async def _open_websocket(host: str, port: int, path: str, cookie: str):
    reader, writer = await asyncio.open_connection(host, port)
    key = base64.b64encode(secrets.token_bytes(16)).decode()
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\nCookie: {cookie}\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(head.split(b"\r\n", 1)[0].decode())
    return writer


async def _half_open(host: str, port: int, stop: asyncio.Event, reopened: list[int]) -> None:
    """One half-sent request, opened again each time the server closes it."""
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(host, port)
            writer.write(b"GET /healthz HTTP/1.1\r\nHost: duet\r\n")  # then silence
            read = asyncio.ensure_future(reader.read(1024))
            stopped = asyncio.ensure_future(stop.wait())
            await asyncio.wait({read, stopped}, return_when=asyncio.FIRST_COMPLETED)
            stopped.cancel()
            if read.done():
                reopened[0] += 1
            else:
                read.cancel()
            writer.close()
        except OSError:
            await asyncio.sleep(0.1)


async def _load(url: str, tid: str, cookie: str, cfg: argparse.Namespace, master: int) -> dict:
    host, port = url.split("//", 1)[1].split(":")
    path = f"/ws/turns/{tid}"
    stop = asyncio.Event()
    reopened = [0]
    started = time.monotonic()
    half_open = [
        asyncio.ensure_future(_half_open(host, int(port), stop, reopened))
        for _ in range(cfg.half_open)
    ]
    gate = asyncio.Semaphore(64)

    async def one():
        async with gate:
            return await _open_websocket(host, int(port), path, cookie)

    opened = await asyncio.gather(*(one() for _ in range(cfg.websockets)), return_exceptions=True)
    writers = [w for w in opened if not isinstance(w, BaseException)]
    refused = [str(w) for w in opened if isinstance(w, BaseException)]
    open_s = time.monotonic() - started
    await asyncio.sleep(1)
    ordinary = await asyncio.to_thread(_ordinary_client, url, cfg.requests, cfg.every)
    await asyncio.sleep(max(0.0, cfg.hold - (time.monotonic() - started)))
    rss = _rss_kb(master)
    stop.set()
    await asyncio.gather(*half_open)
    for writer in writers:
        writer.close()
    return {
        **ordinary,
        "websockets": len(writers),
        "refused": len(refused),
        "refused_example": refused[:1],
        "half_open": cfg.half_open,
        "half_open_closed_by_server": reopened[0],
        "open_s": open_s,
        "rss_kb": rss,
    }


def _env(run_dir: Path, redis_url: str, fake: FakeLLM) -> dict[str, str]:
    endpoints = [
        {"name": name, "base_url": f"{fake.url}/{name}/v1", "model": name, "params": {}}
        for name in ("alpha", "beta")
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUET_", "FLASK_"))}
    big = "100000"
    env.update(
        DATABASE_URL=f"sqlite:///{run_dir / 'duet.sqlite3'}",
        REDIS_URL=redis_url,
        MODEL_ENDPOINTS=json.dumps(endpoints),
        SECRET_KEY="bench-secret-key",
        DUET_INSTANCE_PATH=str(run_dir / "instance"),
        PREFERENCE_SAMPLE_RATE="0",
        RATELIMIT_ENABLED="false",
        WS_MAX_PER_CLIENT=big,
        WS_MAX_PER_ADDRESS=big,
        WEB_CONCURRENCY="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def run(cfg: argparse.Namespace) -> dict:
    """Start the processes, measure idle, then under the held sockets; the figures."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = cfg.websockets * 2 + cfg.half_open * 2 + 1024  # both ends live in these processes
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, need)), hard))
    run_dir = Path(tempfile.mkdtemp(prefix="duet-sockets-"))
    redis, redis_url = start_private_redis(run_dir)
    processes = []
    try:
        with FakeLLM() as fake:
            env = _env(run_dir, redis_url, fake)
            subprocess.run(
                [sys.executable, "-m", "flask", "db", "upgrade"],
                cwd=ROOT,
                env={**env, "FLASK_APP": "wsgi"},
                check=True,
                capture_output=True,
            )
            processes.append(start_worker(env, run_dir, concurrency=8))
            web, url = start_procfile_web(env, run_dir)
            processes.append(web)
            requests.get(url + "/healthz", timeout=5)
            idle = {
                **_ordinary_client(url, cfg.requests, cfg.every),
                "rss_kb": _rss_kb(web.popen.pid),
            }
            holder = DuetClient(url)
            cid = holder.new_conversation()
            # A turn whose model is silent for the whole run: its sockets stay open, idle.
            tid = holder.send(cid, f"Wait #first_delay={cfg.hold + 60} #tokens=1")["id"]
            cookie = "; ".join(f"{c.name}={c.value}" for c in holder.http.cookies)
            loaded = asyncio.run(_load(url, tid, cookie, cfg, web.popen.pid))
    finally:
        for process in reversed(processes):
            process.stop()
        redis.kill()
        redis.wait()
    held = loaded["websockets"] + loaded["half_open"]
    per_socket = (loaded["rss_kb"] - idle["rss_kb"]) / max(1, loaded["websockets"])
    return {
        "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0],
        "idle": idle,
        "loaded": loaded,
        "held": held,
        "rss_kb_per_websocket": per_socket,
    }


def print_table(result: dict) -> None:
    """The figures as a small table."""
    idle, loaded = result["idle"], result["loaded"]
    print("| phase | websockets | half-open | /healthz p50 / p99 | first token | web RSS |")
    print("|---|---|---|---|---|---|")
    for name, row, ws, ho in (
        ("idle", idle, 0, 0),
        ("loaded", loaded, loaded["websockets"], loaded["half_open"]),
    ):
        first = "—" if row["first_token_ms"] is None else f"{row['first_token_ms']:.0f} ms"
        print(
            f"| {name} | {ws} | {ho} | {row['healthz_p50_ms']:.1f} / {row['healthz_p99_ms']:.1f} ms"
            f" | {first}{'' if row['pair_done'] else ' (pair NOT done)'}"
            f" | {row['rss_kb'] / 1024:.1f} MB |"
        )
    print(
        f"\nRSS per open websocket: {result['rss_kb_per_websocket']:.1f} kB; "
        f"{loaded['websockets']} opened in {loaded['open_s']:.1f} s, {loaded['refused']} refused"
        f" {loaded['refused_example']}; half-open requests closed by the server's header "
        f"timeout (and opened again): {loaded['half_open_closed_by_server']}; "
        f"open files allowed: {result['nofile']}"
    )


def main(argv: list[str] | None = None) -> int:
    """Parse the command line, run, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--websockets", type=int, default=2000)
    parser.add_argument("--half-open", type=int, default=200)
    parser.add_argument("--requests", type=int, default=200, help="/healthz calls per phase")
    parser.add_argument(
        "--every", type=float, default=0.05, help="seconds between /healthz calls (from start)"
    )
    parser.add_argument("--hold", type=float, default=20.0, help="seconds the load is held")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    cfg = parser.parse_args(argv)
    started = time.monotonic()
    result = run(cfg)
    result["duration_s"] = time.monotonic() - started
    if cfg.json:
        cfg.json.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"load: {Path('/proc/loadavg').read_text().strip()}; {result['duration_s']:.0f} s")
    return 0


if __name__ == "__main__":
    threading.current_thread().name = "bench-sockets"
    sys.exit(main())
