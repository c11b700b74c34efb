"""`flask preferences export`: each format's records, the context, a deterministic order."""

from __future__ import annotations

from app.extensions import db
from tests.stored_votes import (  # noqa: F401 (_close_connections: autouse)
    SYSTEM,
    _close_connections,
    add_conversation,
    add_turn,
    at,
    run_export,
)


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
