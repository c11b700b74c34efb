"""The run's configuration (`Config`) and the command line that fills it."""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

from tests.stack import ROOT


@dataclass
class Config:
    """One benchmark run's settings (bench/README.md lists the options)."""

    pairs: list[int]
    tokens: int
    rate: float
    ramp: float
    slack: float
    duration_cap: float
    web_procs: int
    web_threads: int  # per process; 0 = pairs + 16
    worker_procs: int
    worker_concurrency: int  # per process; 0 = enough threads for the largest N
    worker_pool: str  # Celery's --pool: gevent (the Procfile's) or threads
    web_pool: str  # gunicorn's worker class: gthread or gevent
    join_tokens: bool  # the sockets ask for joined tokens, as the page does
    database_url: str | None
    redis_url: str
    json_path: Path
    max_tokens: int
    keep: bool
    extra_env: dict[str, str]

    @property
    def stream_s(self) -> float:
        """Seconds one stream lasts at the fixed rate."""
        return self.tokens / self.rate

    def threads_for(self, pairs: int) -> int:
        """gunicorn threads per process for `pairs` (one per socket, plus room)."""
        return self.web_threads or pairs + 16

    def worker_threads(self) -> int:
        """Greenlets (or threads) per worker process: enough for the largest N."""
        if self.worker_concurrency:
            return self.worker_concurrency
        return max(8, math.ceil((2 * max(self.pairs) + 8) / self.worker_procs))


def parse_args(argv: list[str] | None, description: str) -> Config:
    """The command line of `python -m bench.relay`, as a Config."""
    parser = argparse.ArgumentParser(prog="python -m bench.relay", description=description)
    parser.add_argument("--pairs", default="1,10,50,100,200", help="comma-separated N values")
    parser.add_argument("--tokens", type=int, default=200, help="tokens per response")
    parser.add_argument("--rate", type=float, default=50.0, help="tokens/s per stream")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds over which N arrive")
    parser.add_argument(
        "--slack", type=float, default=6.0, help="extra seconds before a phase gives up"
    )
    parser.add_argument(
        "--duration-cap", type=float, default=180.0, help="skip N that would end past this"
    )
    parser.add_argument("--web-procs", type=int, default=2, help="gunicorn processes")
    parser.add_argument(
        "--web-threads",
        type=int,
        default=0,
        help="threads per gunicorn process (0: largest N + 16)",
    )
    parser.add_argument("--worker-procs", type=int, default=1, help="Celery worker processes")
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=0,
        help="threads per worker (0: enough for the largest N)",
    )
    parser.add_argument(
        "--worker-pool",
        choices=("gevent", "threads"),
        default="gevent",
        help="Celery's execution pool (the Procfile's is gevent)",
    )
    parser.add_argument(
        "--web-pool",
        choices=("gthread", "gevent"),
        default="gevent",
        help="gunicorn's worker class (the Procfile's is gevent)",
    )
    parser.add_argument(
        "--no-join",
        action="store_true",
        help="sockets without ?join_tokens=1 (the page asks for it): one message per seq",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a temporary SQLite file; a PostgreSQL URL must be a scratch database",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/13", help="flushed before and after"
    )
    parser.add_argument(
        "--json", default=str(ROOT / "bench" / "results.json"), help="where to write the results"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra setting for web and worker",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: N=1, 20 tokens")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder with the process logs"
    )
    args = parser.parse_args(argv)

    pairs = [1] if args.quick else sorted({int(p) for p in args.pairs.split(",") if p.strip()})
    extra_env = dict(item.split("=", 1) for item in args.env)
    return Config(
        pairs=pairs,
        tokens=20 if args.quick else args.tokens,
        rate=args.rate,
        ramp=0.0 if args.quick else args.ramp,
        slack=args.slack,
        duration_cap=args.duration_cap,
        web_procs=args.web_procs,
        web_threads=args.web_threads,
        worker_procs=args.worker_procs,
        worker_concurrency=args.worker_concurrency or (16 if args.quick else 0),
        worker_pool=args.worker_pool,
        web_pool=args.web_pool,
        join_tokens=not args.no_join,
        database_url=args.database_url,
        redis_url=args.redis_url,
        json_path=Path(args.json),
        max_tokens=max(1024, args.tokens),
        keep=args.keep,
        extra_env=extra_env,
    )
