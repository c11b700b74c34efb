"""The processes under test, started once for the whole sweep and stopped at its end: the
fixed-rate upstream, Celery worker(s) and gunicorn, on a migrated database and the run's Redis."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.options import Config
from tests.stack import Process, migrate, start_web, start_worker, wait_for_http


@dataclass
class Services:
    """The running processes and where to reach them."""

    upstream: Process
    up_port: int
    workers: list[Process]
    web: Process
    url: str
    threads: int  # per gunicorn process

    def host_port(self) -> tuple[str, int]:
        """The web's (host, port)."""
        host, _, port = self.url.removeprefix("http://").partition(":")
        return host, int(port)


def service_env(cfg: Config, database_url: str, up_port: int, run_dir: Path) -> dict[str, str]:
    """The web's and the worker's environment: this one's, minus Duet's own settings, plus the
    run's database, Redis and the two upstream endpoints."""
    endpoints = [
        {"name": f"bench-{p}", "base_url": f"http://127.0.0.1:{up_port}/{p}/v1", "model": f"m-{p}"}
        for p in ("a", "b")
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUET_", "FLASK_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": cfg.redis_url,
            "MODEL_ENDPOINTS": json.dumps(endpoints),
            "SECRET_KEY": "bench-secret-key",
            "DUET_INSTANCE_PATH": str(run_dir / "instance"),
            "PREFERENCE_SAMPLE_RATE": "0",
            "MAX_TOKENS": str(cfg.max_tokens),
            "GENERATION_CONNECT_TIMEOUT": "5",
            "GENERATION_READ_TIMEOUT": "15",
            "GENERATION_TOTAL_TIMEOUT": "300",
            "PYTHONUNBUFFERED": "1",
            # Every simulated browser comes from 127.0.0.1: keep the limiter in the request
            # path (its cost is part of a POST) but with limits no benchmark reaches.
            "RATELIMIT_PER_IP": "1000000/minute",
            "RATELIMIT_API": "1000000/minute",
            "RATELIMIT_TURNS": "1000000/minute",
            "RATELIMIT_TURNS_PER_IP": "1000000/minute",
            "GENERATIONS_PER_CLIENT": "1000000",
            "GENERATIONS_PER_ADDRESS": "1000000",
            **cfg.extra_env,
        }
    )
    return env


@contextlib.contextmanager
def running(cfg: Config, env: dict[str, str], up_port: int, logs: Path) -> Iterator[Services]:
    """Migrate the database, start the upstream, the worker(s) and the web; stop whatever was
    started when the block ends, however it ends."""
    processes: list[Process] = []
    try:
        migrate(env)
        upstream = Process(
            "upstream",
            [
                sys.executable,
                "-m",
                "bench.upstream",
                str(up_port),
                "--tokens",
                str(cfg.tokens),
                "--rate",
                str(cfg.rate),
            ],
            env,
            logs,
        )
        processes.append(upstream)
        wait_for_http(f"http://127.0.0.1:{up_port}/stats", upstream)
        workers = []
        for i in range(cfg.worker_procs):
            worker = start_worker(
                env,
                logs,
                name=f"worker{i}",
                concurrency=cfg.worker_threads(),
                pool=cfg.worker_pool,
            )
            processes.append(worker)
            workers.append(worker)
        # One web for the whole sweep, with a thread for every socket of the largest N.
        threads = cfg.web_threads or cfg.threads_for(max(cfg.pairs))
        web, url = start_web(env, logs, workers=cfg.web_procs, threads=threads, pool=cfg.web_pool)
        processes.append(web)
        yield Services(upstream, up_port, workers, web, url, threads)
    finally:
        for process in reversed(processes):
            process.stop()
