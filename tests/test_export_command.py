"""`flask preferences export`: filters, options, stdout, atomic writes, flat memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

from app.extensions import db
from tests.stack import ROOT
from tests.stored_votes import (  # noqa: F401 (_close_connections: autouse)
    SYSTEM,
    _close_connections,
    add_conversation,
    add_turn,
    at,
    run_export,
)


def test_filters_by_vote_time_endpoint_and_trigger(runner, votes, tmp_path):
    def users(*args: str) -> list[str]:
        records, _ = run_export(runner, tmp_path, "--format", "raw", *args)
        return [r["prompt"][-1]["content"] for r in records]

    assert users("--since", "2026-11-01T12:02:00", "--until", "2026-11-01T12:05") == [
        "And then?", "Draw?", "Both?",
    ]  # fmt: skip
    # The offset is honoured: 13:03+01:00 is 12:03 UTC.
    assert users("--since", "2026-11-01T13:03+01:00") == ["Draw?", "Both?", "Café?", "More"]
    assert users("--until", "2026-11-01") == []
    assert users("--endpoint", "gamma") == ["Café?", "More"]
    assert users("--trigger", "reroll") == ["Café?"]


def test_bad_options_get_clear_errors(runner, votes, tmp_path):
    out = str(tmp_path / "x.jsonl")
    result = runner.invoke(args=["preferences", "export", "-o", out, "--since", "last week"])
    assert result.exit_code == 2
    assert "'last week' is not an ISO 8601 date or date-time" in result.stderr
    result = runner.invoke(
        args=["preferences", "export", "-o", out, "--since", "2026-11-02", "--until", "2026-11-01"]
    )
    assert result.exit_code == 2 and "must be later than --since" in result.stderr
    result = runner.invoke(args=["preferences", "export", "-o", str(tmp_path / "no" / "x.jsonl")])
    assert result.exit_code == 2 and "does not exist" in result.stderr
    result = runner.invoke(args=["preferences", "export", "-o", out, "--format", "csv"])
    assert result.exit_code == 2
    assert not Path(out).exists()


def test_stdout_gets_utf8_lines_and_the_summary_goes_to_stderr(runner, votes):
    result = runner.invoke(args=["preferences", "export", "--format", "trl", "--output", "-"])

    assert result.exit_code == 0, result.output
    lines = result.stdout_bytes.decode("utf-8").splitlines()
    assert len(lines) == 3
    assert "Hi ✓" in lines[0] and "Café?" in lines[2]  # UTF-8, not \\u escapes
    assert all(isinstance(json.loads(line), dict) for line in lines)
    assert result.stderr.startswith("Wrote 3 records (trl) to stdout;")


def test_a_failed_export_leaves_the_old_file_and_no_temporary_file(
    runner, votes, tmp_path, monkeypatch
):
    from app.export.formats import FORMATS

    out = tmp_path / "dpo.jsonl"
    out.write_text("previous export\n")
    written = []

    def fail_on_the_third(vote):
        if len(written) == 2:
            raise RuntimeError("disk on fire")
        written.append(vote)
        return [{"n": len(written)}]

    monkeypatch.setitem(FORMATS, "trl", replace(FORMATS["trl"], records=fail_on_the_third))
    import app.export.selection

    released = []
    real_iter_votes = app.export.selection.iter_votes

    def watched_iter_votes(*args, **kwargs):
        try:
            yield from real_iter_votes(*args, **kwargs)
        finally:
            released.append(True)

    # Where the export (CLI and admin download alike) reads the votes from.
    monkeypatch.setattr(app.export.selection, "iter_votes", watched_iter_votes)
    result = runner.invoke(args=["preferences", "export", "-o", str(out)])

    assert result.exit_code != 0
    assert isinstance(result.exception, RuntimeError)
    assert out.read_text() == "previous export\n"
    assert [p.name for p in tmp_path.iterdir()] == ["dpo.jsonl"]
    assert released == [True]  # the query's cursor was let go at once, not at some later GC


def test_an_export_killed_midway_leaves_no_file(app, database_url, run_dir, tmp_path):
    """`kill` (SIGTERM) during a real `flask preferences export` process: nothing is left."""
    from bench.export import generate_votes

    with app.app_context():
        generate_votes(db.session.connection(), 3_000, scale=5)
        db.session.commit()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "FLASK_APP": "wsgi",
        "DUET_INSTANCE_PATH": str(run_dir / "instance"),
    }
    out = tmp_path / "dpo.jsonl"
    command = [sys.executable, "-m", "flask", "preferences", "export", "-o", str(out)]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        # Wait until the first megabyte has reached the temporary file: midway.
        while not any(p.name.endswith(".part") and p.stat().st_size for p in tmp_path.iterdir()):
            assert process.poll() is None, process.stderr.read().decode()
            assert time.monotonic() < deadline, "the export never started writing"
            time.sleep(0.01)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 128 + signal.SIGTERM
    finally:
        process.kill()
        process.wait()
        process.stderr.close()
    assert list(tmp_path.iterdir()) == []


def test_an_empty_database_gives_an_empty_file(runner, app, tmp_path):
    records, result = run_export(runner, tmp_path)
    assert records == [] and (tmp_path / "out.jsonl").exists()
    assert "Wrote 0 records (trl)" in result.stderr


def test_memory_stays_flat_however_many_votes(app, tmp_path):
    """3,000 long votes (about 20 MB of JSON lines) stream through a few MB of memory.

    Batches of 100 rows stand in for the real 1,000 so the test stays small and
    quick; bench/export.py measures the real process at 10k, 200k and 1M votes.
    """
    from app.export import FORMATS, VoteFilter, export, iter_votes
    from bench.export import generate_votes

    with app.app_context():
        generate_votes(db.session.connection(), 3_000, scale=5)
        db.session.commit()
        out_path = tmp_path / "big.jsonl"
        tracemalloc.start()
        try:
            with open(out_path, "wb") as out:
                votes = iter_votes(VoteFilter(), everything=False, batch_size=100)
                summary = export(FORMATS["trl"], votes, out)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    size = out_path.stat().st_size
    assert summary.records + sum(summary.skipped.values()) == 3_000
    # Holding every row, or every line, in memory would take more than the file's size.
    assert size > 15e6
    assert peak < size / 5, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB export"
