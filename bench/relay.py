"""Relay benchmark: what a paired turn costs through Duet, against reading the model directly.

    .venv/bin/python -m bench.relay                       # N = 1, 10, 50, 100, 200 pairs
    .venv/bin/python -m bench.relay --pairs 50 --tokens 100
    .venv/bin/python -m bench.relay --quick --json /tmp/r.json   # the CI smoke run (N=1)

Everything real except the model: gunicorn (gevent, as in the Procfile), Celery worker(s)
(gevent pool, as in the Procfile), Redis, the database; the model is a fixed-rate
OpenAI-compatible upstream (bench/upstream.py) that the run starts in its own process. For
each N it runs two phases on the same upstream:

- baseline: 2N clients read the upstream directly (what a browser would get with no Duet);
- duet: N clients each POST a paired turn and read both slots over `/ws/turns/<tid>`.

Every upstream token is 4 characters that encode the time it was written (its emit time in
10 µs units, modulo 2^24, i.e. a 168 s window), so a client computes per-token latency
(receive time - emit time, one clock, one machine) from the text alone, even when a message
carries several tokens. "Added" figures are Duet's percentile minus the baseline's.

Figures only, no assertion: see bench/README.md for what each one means and which module
does what.
"""

from __future__ import annotations

import json
import sys

from app.process.sigterm import exit_on_sigterm
from bench.options import parse_args
from bench.report import print_table
from bench.sweep import run


def main(argv: list[str] | None = None) -> int:
    """Run the sweep the command line asks for, write the JSON and print the table."""
    cfg = parse_args(argv, description=__doc__.splitlines()[0])
    # A SIGTERM (`kill`, a job's timeout) stops the processes the run started, as Ctrl-C
    # does: left running, its Celery worker would take the next run's tasks.
    with exit_on_sigterm():
        result = run(cfg)
    cfg.json_path.parent.mkdir(parents=True, exist_ok=True)
    cfg.json_path.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"\nWrote {cfg.json_path} in {result['duration_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
