"""Exports of the signal besides votes: thumbs in kto, edit pairs (--with-edits), LLaMA-Factory's
KTO layout, raw's ratings, edits and skips, and --first-turns for OpenAI."""

from __future__ import annotations

from datetime import timedelta

from app.extensions import db
from app.models import Edit, Rating, Skip
from app.raters.accounts import anonymous_rater
from tests.stored_votes import (  # noqa: F401 (_close_connections: autouse)
    SYSTEM,
    T0,
    _close_connections,
    add_conversation,
    add_turn,
    at,
    run_export,
)


def _signal(app) -> dict:
    """A voted pair (first turn), a later single turn rated and corrected, a skipped pair."""
    with app.app_context():
        rater = anonymous_rater("client-1").id
        conversation = add_conversation("Be brief.")
        voted = add_turn(conversation, "Hi", ("alpha", "Hello A"), ("beta", "Hello B"), "a", at(1))
        single = add_turn(conversation, "Capital?", ("alpha", "Lyon"), ("beta", "Paris"), None)
        skipped = add_turn(conversation, "Hmm", ("alpha", "S A"), ("beta", "S B"), None)
        a, b = voted.response("a"), voted.response("b")
        db.session.add_all(
            [
                Rating(response_id=a.id, rater_id=rater, rating="up", created_at=at(2)),
                Rating(
                    response_id=single.response("a").id,
                    rater_id=rater,
                    rating="down",
                    tags=["accurate"],
                    reason="wrong city",
                    created_at=at(3),
                ),
                Edit(
                    response_id=single.response("a").id,
                    rater_id=rater,
                    content="Paris",
                    created_at=at(4),
                ),
                Edit(response_id=b.id, rater_id=rater, content="Hello!", created_at=at(5)),
                Skip(turn_id=skipped.id, rater_id=rater, reason="unsure", created_at=at(6)),
            ]
        )
        db.session.commit()
        return {"single_context": single.context, "hi_context": voted.context}


def test_kto_includes_thumbs_after_the_votes(app, runner, tmp_path):
    stored = _signal(app)
    records, result = run_export(runner, tmp_path, "--format", "kto")
    assert [(r["completion"][0]["content"], r["label"]) for r in records] == [
        ("Hello A", True),  # the vote: winner
        ("Hello B", False),  # and loser
        ("Hello A", True),  # thumbs up
        ("Lyon", False),  # thumbs down
    ]
    assert records[3]["prompt"] == stored["single_context"]
    assert "Also wrote 2 thumbs." in result.output


def test_the_llamafactory_kto_layout_ends_messages_with_the_rated_answer(app, runner, tmp_path):
    stored = _signal(app)
    records, _ = run_export(runner, tmp_path, "--format", "kto-llamafactory")
    assert [set(r) for r in records] == [{"messages", "label"}] * 4
    assert records[3] == {
        "messages": [*stored["single_context"], {"role": "assistant", "content": "Lyon"}],
        "label": False,
    }
    assert records[0]["messages"] == [
        SYSTEM,
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello A"},
    ]


def test_with_edits_adds_a_pair_per_edit(app, runner, tmp_path):
    stored = _signal(app)
    plain, _ = run_export(runner, tmp_path, "--format", "trl")
    records, result = run_export(runner, tmp_path, "--format", "trl", "--with-edits")
    assert len(plain) == 1 and records[0] == plain[0]
    assert records[1:] == [
        {
            "prompt": stored["single_context"],
            "chosen": [{"role": "assistant", "content": "Paris"}],
            "rejected": [{"role": "assistant", "content": "Lyon"}],
        },
        {
            "prompt": stored["hi_context"],
            "chosen": [{"role": "assistant", "content": "Hello!"}],
            "rejected": [{"role": "assistant", "content": "Hello B"}],
        },
    ]
    assert "Also wrote 2 edit pairs." in result.output
    openai, _ = run_export(runner, tmp_path, "--format", "openai", "--with-edits")
    assert openai[1]["preferred_output"] == [{"role": "assistant", "content": "Paris"}]
    sharegpt, _ = run_export(runner, tmp_path, "--format", "sharegpt", "--with-edits")
    assert sharegpt[2]["chosen"] == {"from": "gpt", "value": "Hello!"}


def test_with_edits_is_refused_where_it_has_no_meaning(app, runner, tmp_path):
    result = runner.invoke(
        args=["preferences", "export", "-o", str(tmp_path / "x"), "--format", "kto", "--with-edits"]
    )
    assert result.exit_code == 2 and "--with-edits" in result.output


def test_raw_carries_ratings_edits_and_skips_with_the_rater(app, runner, tmp_path):
    _signal(app)
    records, _ = run_export(runner, tmp_path, "--format", "raw")
    kinds = [r.get("record", "vote") for r in records]
    assert kinds == ["vote", "rating", "rating", "edit", "edit", "skip"]
    rating = records[2]
    assert (rating["rating"], rating["tags"], rating["reason"]) == (
        "down",
        ["accurate"],
        "wrong city",
    )
    assert rating["rater"] == "anonymous-client-1" and rating["slot"] == "a"
    assert rating["created_at"] == (T0 + timedelta(minutes=3)).isoformat()
    edit = records[3]
    assert (edit["original"], edit["content"]) == ("Lyon", "Paris")
    assert records[5]["reason"] == "unsure" and records[5]["rater"] == "anonymous-client-1"


def test_skips_are_never_preferences(app, runner, tmp_path):
    _signal(app)
    for options in (["trl", "--with-edits"], ["openai"], ["sharegpt"], ["kto"]):
        records, _ = run_export(runner, tmp_path, "--format", *options)
        assert "Hmm" not in str(records) and "S A" not in str(records), options


def test_the_filters_apply_to_thumbs_and_edits(app, runner, tmp_path):
    _signal(app)
    records, _ = run_export(runner, tmp_path, "--format", "kto", "--since", "2026-11-01T12:02:30")
    assert [r["completion"][0]["content"] for r in records] == ["Lyon"]
    records, _ = run_export(
        runner, tmp_path, "--format", "trl", "--with-edits", "--endpoint", "gamma"
    )
    assert records == []


def test_first_turns_keeps_one_turn_examples(app, runner, tmp_path):
    _signal(app)
    records, _ = run_export(runner, tmp_path, "--format", "openai", "--with-edits", "--first-turns")
    assert [r["input"]["messages"] for r in records] == [
        [SYSTEM, {"role": "user", "content": "Hi"}]
    ] * 2  # the vote and the edit of its first turn; the later turn's edit is left out
    assert all(m["role"] != "assistant" for r in records for m in r["input"]["messages"])
    kto, _ = run_export(runner, tmp_path, "--format", "kto", "--first-turns")
    assert [r["completion"][0]["content"] for r in kto] == ["Hello A", "Hello B", "Hello A"]


def test_first_turns_counts_the_votes_it_leaves_out(app, runner, tmp_path, votes):
    records, result = run_export(runner, tmp_path, "--format", "trl", "--first-turns")
    assert [r["prompt"][-1]["content"] for r in records] == ["Hi ✓", "Café?"]
    assert "Left out 4 votes on later turns." in result.output
