"""`flask preferences export`: the formats, the context, filters, atomic writes, flat memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import tracemalloc
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.chat.prompt import build_context
from app.extensions import db
from app.models import DONE, ERROR, Conversation, Feedback, Response, Turn
from tests.stack import ROOT

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
PARAMS = {"alpha": {"temperature": 0.5}, "beta": {"temperature": 0.9}, "gamma": {}}


@pytest.fixture(autouse=True)
def _close_connections(request: pytest.FixtureRequest):
    """Close the app's pooled connections after the test (PostgreSQL warns of leaked ones)."""
    app = request.getfixturevalue("app") if "app" in request.fixturenames else None
    yield
    if app is not None:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def add_conversation(system_prompt: str | None = None, created_at: datetime = T0) -> Conversation:
    """A new conversation of client `client-1`."""
    conversation = Conversation(
        client_id="client-1", system_prompt=system_prompt, created_at=created_at
    )
    db.session.add(conversation)
    return conversation


def add_turn(
    conversation: Conversation,
    content: str,
    a: tuple,
    b: tuple,
    choice: str | None = None,
    voted_at: datetime | None = None,
    trigger: str = "sampled",
    b_status: str = DONE,
    reason: str | None = None,
) -> Turn:
    """A paired turn as the app stores it: context built from the earlier turns, and a vote.

    `a` and `b` are (endpoint name, response text), optionally with sampling params.
    """
    created = voted_at - timedelta(seconds=30) if voted_at else T0
    turn = Turn(
        conversation=conversation,
        position=len(conversation.turns),
        content=content,
        trigger=trigger,
        context=build_context(conversation, content),
        created_at=created,
    )
    for slot, (endpoint, text, *params), status in (("a", a, DONE), ("b", b, b_status)):
        Response(
            turn=turn,
            slot=slot,
            endpoint_name=endpoint,
            model=f"{endpoint}-model",
            params=params[0] if params else PARAMS[endpoint],
            max_tokens=256,
            status=status,
            content=text,
            finish_reason="stop" if status == DONE else None,
            error=None if status == DONE else "endpoint down",
            token_count=len(text.split()),
            queued_at=created,
            started_at=created + timedelta(seconds=1),
            first_token_at=created + timedelta(seconds=2),
            finished_at=created + timedelta(seconds=5),
        )
    if choice is not None:
        Feedback(turn=turn, choice=choice, reason=reason, client_id="client-1", created_at=voted_at)
    db.session.add(turn)
    db.session.flush()
    return turn


def at(minutes: int) -> datetime:
    """T0 plus some minutes."""
    return T0 + timedelta(minutes=minutes)


@pytest.fixture
def votes(app):
    """Two conversations, every choice, a multi-turn context, a failed response."""
    with app.app_context():
        first = add_conversation("Be brief.")
        add_turn(
            first, "Hi ✓", ("alpha", "Hello A"), ("beta", "Hello B"), "b", at(1), reason="nicer"
        )
        add_turn(
            first, "And then?", ("beta", "Then B"), ("alpha", "Then A"), "a", at(2), "requested"
        )
        add_turn(first, "Draw?", ("alpha", "Tie A"), ("beta", "Tie B"), "tie", at(3))
        add_turn(first, "Both?", ("alpha", "Bad A"), ("beta", "Bad B"), "both_bad", at(4))
        second = add_conversation(created_at=at(4))
        add_turn(second, "Café?", ("beta", "Oui"), ("gamma", "Non"), "a", at(5), "reroll")
        add_turn(second, "More", ("gamma", "X"), ("alpha", "Y"), "b", at(6), b_status=ERROR)
        db.session.commit()


def run_export(runner, tmp_path: Path, *args: str) -> tuple[list[dict], object]:
    """Export to a file; the parsed lines and the click result."""
    out = tmp_path / "out.jsonl"
    result = runner.invoke(args=["preferences", "export", "-o", str(out), *args])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.endswith("\n") or text == ""
    return [json.loads(line) for line in text.splitlines()], result


SYSTEM = {"role": "system", "content": "Be brief."}


def test_trl_maps_the_vote_to_chosen_and_rejected_and_leaves_out_ties(runner, votes, tmp_path):
    records, result = run_export(runner, tmp_path, "--format", "trl")

    assert [set(r) for r in records] == [{"prompt", "chosen", "rejected"}] * 3
    first, second, third = records
    assert first == {
        "prompt": [SYSTEM, {"role": "user", "content": "Hi ✓"}],
        "chosen": [{"role": "assistant", "content": "Hello B"}],
        "rejected": [{"role": "assistant", "content": "Hello A"}],
    }
    assert second["chosen"] == [{"role": "assistant", "content": "Then B"}]
    assert second["rejected"] == [{"role": "assistant", "content": "Then A"}]
    assert third["prompt"] == [{"role": "user", "content": "Café?"}]
    assert (third["chosen"][0]["content"], third["rejected"][0]["content"]) == ("Oui", "Non")
    assert result.stderr.strip().endswith(
        "Wrote 3 records (trl) to "
        f"{tmp_path / 'out.jsonl'}; skipped 3 votes (1 tie, 1 both-bad, 1 with a failed response)."
    )


def test_the_prompt_is_the_context_sent_continued_by_the_chosen_responses(runner, votes, tmp_path):
    records, _ = run_export(runner, tmp_path, "--format", "trl")
    # Turn 1 was voted `b`, so turn 2's model saw "Hello B" as the earlier answer.
    assert records[1]["prompt"] == [
        SYSTEM,
        {"role": "user", "content": "Hi ✓"},
        {"role": "assistant", "content": "Hello B"},
        {"role": "user", "content": "And then?"},
    ]
    raw, _ = run_export(runner, tmp_path, "--format", "raw")
    # The both-bad turn continues with `a`, and every earlier turn is there.
    assert raw[3]["prompt"] == [
        SYSTEM,
        {"role": "user", "content": "Hi ✓"},
        {"role": "assistant", "content": "Hello B"},
        {"role": "user", "content": "And then?"},
        {"role": "assistant", "content": "Then B"},
        {"role": "user", "content": "Draw?"},
        {"role": "assistant", "content": "Tie A"},
        {"role": "user", "content": "Both?"},
    ]


def test_a_prompt_message_carries_only_its_role_and_content(app, runner, tmp_path):
    with app.app_context():
        turn = add_turn(add_conversation(), "Hi", ("alpha", "A"), ("beta", "B"), "a", at(1))
        # A context message with more in it than the app writes today.
        turn.context = [{"role": "user", "content": "Hi", "name": "ada"}]
        db.session.commit()
    for fmt in ("trl", "raw"):
        records, _ = run_export(runner, tmp_path, "--format", fmt)
        assert records[0]["prompt"] == [{"role": "user", "content": "Hi"}]


def test_openai_format(runner, votes, tmp_path):
    records, _ = run_export(runner, tmp_path, "--format", "openai")

    assert [set(r) for r in records] == [{"input", "preferred_output", "non_preferred_output"}] * 3
    assert records[0] == {
        "input": {"messages": [SYSTEM, {"role": "user", "content": "Hi ✓"}]},
        "preferred_output": [{"role": "assistant", "content": "Hello B"}],
        "non_preferred_output": [{"role": "assistant", "content": "Hello A"}],
    }
    assert records[1]["preferred_output"][0]["content"] == "Then B"


def test_sharegpt_format(runner, votes, tmp_path):
    records, _ = run_export(runner, tmp_path, "--format", "sharegpt")

    assert [set(r) for r in records] == [{"conversations", "chosen", "rejected"}] * 3
    assert records[1] == {
        "conversations": [
            {"from": "system", "value": "Be brief."},
            {"from": "human", "value": "Hi ✓"},
            {"from": "gpt", "value": "Hello B"},
            {"from": "human", "value": "And then?"},
        ],
        "chosen": {"from": "gpt", "value": "Then B"},
        "rejected": {"from": "gpt", "value": "Then A"},
    }
    assert records[0]["chosen"] == {"from": "gpt", "value": "Hello B"}


def test_kto_gives_a_good_and_a_bad_example_per_win_and_two_bad_per_both_bad(
    runner, votes, tmp_path
):
    records, result = run_export(runner, tmp_path, "--format", "kto")

    assert [set(r) for r in records] == [{"prompt", "completion", "label"}] * 8
    as_tuples = [
        (r["prompt"][-1]["content"], r["completion"][0]["content"], r["label"]) for r in records
    ]
    assert as_tuples == [
        ("Hi ✓", "Hello B", True),
        ("Hi ✓", "Hello A", False),
        ("And then?", "Then B", True),
        ("And then?", "Then A", False),
        ("Both?", "Bad A", False),
        ("Both?", "Bad B", False),
        ("Café?", "Oui", True),
        ("Café?", "Non", False),
    ]
    assert records[0]["completion"] == [{"role": "assistant", "content": "Hello B"}]
    assert result.stderr.startswith("Wrote 8 records from 4 votes (kto) to ")
    assert result.stderr.strip().endswith("skipped 2 votes (1 tie, 1 with a failed response).")

    unpaired = tmp_path / "unpaired.jsonl"
    runner.invoke(
        args=["preferences", "export", "--format", "trl", "--unpaired", "-o", str(unpaired)]
    )
    assert unpaired.read_bytes() == (tmp_path / "out.jsonl").read_bytes()


def test_raw_keeps_every_vote_with_everything_stored(runner, votes, tmp_path):
    records, result = run_export(runner, tmp_path, "--format", "raw")

    assert [r["choice"] for r in records] == ["b", "a", "tie", "both_bad", "a", "b"]
    assert [r["trigger"] for r in records] == [
        "sampled", "requested", "sampled", "sampled", "reroll", "sampled",
    ]  # fmt: skip
    first = records[0]
    assert first["reason"] == "nicer"
    assert first["voted_at"] == "2026-11-01T12:01:00+00:00"
    assert first["system_prompt"] == "Be brief."
    assert first["turn_position"] == 0 and len(first["turn_id"]) == 32
    assert (
        first["conversation_id"] == records[1]["conversation_id"] != records[4]["conversation_id"]
    )
    a, b = first["responses"]["a"], first["responses"]["b"]
    assert (a["endpoint"], a["model"], a["params"], a["content"]) == (
        "alpha", "alpha-model", {"temperature": 0.5}, "Hello A",
    )  # fmt: skip
    assert (b["endpoint"], b["finish_reason"], b["status"]) == ("beta", "stop", "done")
    assert b["finished_at"] == "2026-11-01T12:00:35+00:00"
    assert records[5]["responses"]["b"]["status"] == "error"
    assert "skipped none" in result.stderr


def test_export_is_deterministic_and_ordered_by_vote_time_then_id(app, runner, votes, tmp_path):
    with app.app_context():
        # Two votes cast in the same instant: the older row (lower id) comes first.
        late = add_conversation(created_at=at(7))
        add_turn(late, "First", ("alpha", "1a"), ("beta", "1b"), "a", at(9))
        add_turn(late, "Second", ("alpha", "2a"), ("beta", "2b"), "a", at(9))
        add_turn(late, "Earlier", ("alpha", "0a"), ("beta", "0b"), "a", at(8))
        db.session.commit()
    records, _ = run_export(runner, tmp_path, "--format", "trl")
    once = (tmp_path / "out.jsonl").read_bytes()
    run_export(runner, tmp_path, "--format", "trl")

    assert (tmp_path / "out.jsonl").read_bytes() == once
    assert [r["prompt"][-1]["content"] for r in records][-3:] == ["Earlier", "First", "Second"]


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
    import app.export

    released = []
    real_iter_votes = app.export.iter_votes

    def watched_iter_votes(*args, **kwargs):
        try:
            yield from real_iter_votes(*args, **kwargs)
        finally:
            released.append(True)

    monkeypatch.setattr(app.export, "iter_votes", watched_iter_votes)
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
