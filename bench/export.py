"""Export throughput and peak memory of `flask preferences export`, at growing row counts.

    .venv/bin/python -m bench.export                      # 10k and 200k votes
    .venv/bin/python -m bench.export --rows 1000000       # one size
    .venv/bin/python -m bench.export --rows 10000 200000 1000000 --format raw

Each size gets a fresh SQLite database in a temporary folder, filled with generated
conversations of four paired turns (growing multi-turn context, realistic text
lengths, every vote choice). The export runs as its own `flask` process, as an admin
runs it; its wall time and peak RSS (from wait4) are printed. Figures only: no
assertion. A flat peak RSS across sizes shows the export streams.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Connection, create_engine

from app.extensions import db
from app.models import Conversation, Feedback, Rater, Response, Turn

ROOT = Path(__file__).resolve().parent.parent

TURNS_PER_CONVERSATION = 4
START = datetime(2026, 1, 1, tzinfo=UTC)
_VOCABULARY = (
    "the model answers with a short and clear explanation of why this works while the other "
    "response rambles about tokens context windows sampling temperature and preference data "
    "naïve café résumé 東京 ✓"
)
_WORDS = _VOCABULARY.split()
_CHOICES = ("a", "b", "tie", "both_bad")
_WEIGHTS = (0.4, 0.4, 0.12, 0.08)


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choices(_WORDS, k=words))


def _rows(count: int, seed: int, scale: int) -> Iterator[tuple[str, dict]]:
    """(table, row) pairs for `count` votes, parents before children; texts `scale` times longer."""
    rng = random.Random(seed)
    endpoints = [("alpha", {"temperature": 0.7}), ("beta", {"temperature": 1.0})]
    context: list[dict] = []
    cid = ""
    for owner in ["client", *(f"client-{k}" for k in range(min(count, 97)))]:
        yield "raters", {
            "id": owner, "name": f"anonymous-{owner}", "role": "rater", "kind": "anonymous",
            "created_at": START,
        }  # fmt: skip
    for i in range(count):
        position = i % TURNS_PER_CONVERSATION
        moment = START + timedelta(seconds=i)
        if position == 0:
            cid = f"c{i:031x}"
            context = [{"role": "system", "content": "You are a helpful assistant."}]
            yield "conversations", {
                "id": cid, "rater_id": f"client-{i % 97}", "title": "Bench",
                "system_prompt": context[0]["content"], "created_at": moment,
            }  # fmt: skip
        content = _text(rng, 20 * scale)
        context = [*context, {"role": "user", "content": content}]
        tid = f"t{i:031x}"
        yield "turns", {
            "id": tid, "conversation_id": cid, "position": position, "content": content,
            "trigger": "sampled", "context": context, "created_at": moment,
        }  # fmt: skip
        answers = {}
        for slot, (name, params) in zip("ab", rng.sample(endpoints, 2), strict=True):
            answers[slot] = _text(rng, rng.randint(40, 80) * scale)
            yield "responses", {
                "id": f"{slot}{i:031x}", "turn_id": tid, "slot": slot, "endpoint_name": name,
                "model": f"{name}-model", "params": params, "max_tokens": 1024, "status": "done",
                "content": answers[slot], "finish_reason": "stop", "error": None,
                "token_count": 60, "queued_at": moment, "started_at": moment,
                "first_token_at": moment, "finished_at": moment,
            }  # fmt: skip
        choice = rng.choices(_CHOICES, _WEIGHTS)[0]
        yield "feedback", {
            "turn_id": tid, "choice": choice, "reason": None, "rater_id": "client",
            "created_at": moment + timedelta(milliseconds=500),
        }  # fmt: skip
        continuing = "b" if choice == "b" else "a"
        context = [*context, {"role": "assistant", "content": answers[continuing]}]


def generate_votes(
    connection: Connection, count: int, seed: int = 0, scale: int = 1, batch: int = 5000
) -> None:
    """Insert `count` voted paired turns (with conversations and responses) in bulk.

    Messages are about 20 words, responses 40 to 80, each times `scale`.
    """
    tables = {
        "raters": Rater.__table__,
        "conversations": Conversation.__table__,
        "turns": Turn.__table__,
        "responses": Response.__table__,
        "feedback": Feedback.__table__,
    }
    pending: dict[str, list[dict]] = {name: [] for name in tables}

    def flush() -> None:
        for name, table in tables.items():  # parents first
            if pending[name]:
                connection.execute(table.insert(), pending[name])
                pending[name].clear()

    for n, (name, row) in enumerate(_rows(count, seed, scale), 1):
        pending[name].append(row)
        if n % batch == 0:
            flush()
    flush()


def _database(folder: Path, rows: int) -> str:
    url = f"sqlite:///{folder / 'bench.sqlite3'}"
    engine = create_engine(url)
    db.metadata.create_all(engine)
    with engine.begin() as connection:
        generate_votes(connection, rows)
    engine.dispose()
    return url


def _run(
    command: list[str], env: dict[str, str]
) -> tuple[float, float, int, subprocess.CompletedProcess]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    out, err = process.stdout.read(), process.stderr.read()
    done = subprocess.CompletedProcess(command, process.returncode, out, err)
    return elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, done


def bench(rows: int, fmt: str) -> dict:
    """Generate `rows` votes, export them once, and return the figures."""
    with tempfile.TemporaryDirectory(prefix="duet-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        url = _database(folder, rows)
        generated = time.perf_counter() - started
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "FLASK_APP": "wsgi",
            "DUET_INSTANCE_PATH": str(folder / "instance"),
        }
        flask = [sys.executable, "-m", "flask"]
        _, _, baseline, _ = _run([*flask, "preferences", "--help"], env)
        output = folder / f"export.{fmt}.jsonl"
        command = [*flask, "preferences", "export", "--format", fmt, "-o", str(output), "-q"]
        seconds, cpu, peak, done = _run(command, env)
        if done.returncode != 0:
            raise SystemExit(done.stderr.decode())
        return {
            "votes": rows,
            "generate_s": generated,
            "export_s": seconds,
            "votes_per_s": rows / seconds,
            "cpu_s": cpu,
            "file_mb": output.stat().st_size / 1e6,
            "peak_rss_mb": peak / 1024,
            "baseline_rss_mb": baseline / 1024,
            "summary": done.stderr.decode().strip().splitlines()[-1],
        }


def main() -> None:
    """Run the sizes asked for and print one table row per size."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 200_000])
    parser.add_argument("--format", default="trl")
    args = parser.parse_args()
    print(
        f"flask preferences export --format {args.format}: SQLite, Python "
        f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    )
    print(
        f"{'votes':>10} {'wall s':>8} {'CPU s':>7} {'votes/s':>9} {'votes/CPU s':>12} "
        f"{'file MB':>8} {'peak RSS MB':>12} {'idle app RSS MB':>16}"
    )
    for rows in args.rows:
        r = bench(rows, args.format)
        print(
            f"{r['votes']:>10,} {r['export_s']:>8.1f} {r['cpu_s']:>7.1f} {r['votes_per_s']:>9,.0f} "
            f"{r['votes'] / r['cpu_s']:>12,.0f} {r['file_mb']:>8.1f} {r['peak_rss_mb']:>12.1f} "
            f"{r['baseline_rss_mb']:>16.1f}",
            flush=True,
        )
        print(f"{'':>10} {r['summary']} (generated in {r['generate_s']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
