"""`flask preferences export --campaign NAME [--aggregate majority]`: a campaign's votes, and
one pair per item by a strict majority, splits left out and counted."""

from __future__ import annotations

import json

import pytest

from tests.api_helpers import new_conversation, send
from tests.campaign_helpers import finish_pair, make_campaign, next_item, vote

# Choices of three raters on the three items (by position): a majority for A, a split, and
# a majority of ties.
CHOICES = {1: ["a", "a", "b"], 2: ["a", "b", "tie"], 3: ["tie", "tie", "a"]}


@pytest.fixture
def rated(campaign_app, client, queued):
    """Campaign "c" rated by three raters, and a chat vote outside it."""
    cid = make_campaign(campaign_app, "c", items=3, overlap=3)
    for rater in range(3):
        browser = campaign_app.test_client()
        while (handed := next_item(browser, cid)) is not None:
            tid = handed["turn"]["id"]
            finish_pair(campaign_app, tid)
            choice = CHOICES[handed["item"]["position"]][rater]
            assert vote(browser, tid, choice).status_code == 201
    chat = send(client, new_conversation(client), "a chat message", mode="pair")["id"]
    finish_pair(campaign_app, chat)
    assert vote(client, chat, "b").status_code == 201
    return cid


def export(runner, *options: str):
    result = runner.invoke(args=["preferences", "export", "-o", "-", "-q", *options])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    return result, lines


def prompts(lines: list[dict]) -> list[str]:
    return [line["prompt"][-1]["content"] for line in lines]


def test_campaign_keeps_only_its_items_votes(rated, runner):
    result, lines = export(runner, "--campaign", "c")
    assert result.exit_code == 0, result.output
    # Item 1: three decisive votes, item 2: two, item 3: one; the chat vote is not in it.
    assert sorted(prompts(lines)) == ["prompt 1"] * 3 + ["prompt 2"] * 2 + ["prompt 3"]
    _, all_lines = export(runner)
    assert "a chat message" in prompts(all_lines) and len(all_lines) == 7


def test_majority_gives_one_pair_per_item_and_counts_the_rest(rated, runner):
    result, lines = export(runner, "--campaign", "c", "--aggregate", "majority")
    assert result.exit_code == 0, result.output
    assert prompts(lines) == ["prompt 1"]
    assert lines[0]["chosen"] == [{"role": "assistant", "content": "answer A"}]
    assert lines[0]["rejected"] == [{"role": "assistant", "content": "answer B"}]
    assert "Wrote 1 records (trl)" in result.stderr
    assert "skipped 2 votes (1 tie, 1 split (no majority))" in result.stderr
    # A chat turn's one vote is its own majority.
    _, everything = export(runner, "--aggregate", "majority")
    assert sorted(prompts(everything)) == ["a chat message", "prompt 1"]


def test_majority_in_kto_keeps_a_both_bad_majority(campaign_app, runner, queued):
    cid = make_campaign(campaign_app, "bad", items=1, overlap=3)
    for choice in ("both_bad", "both_bad", "a"):
        browser = campaign_app.test_client()
        tid = next_item(browser, cid)["turn"]["id"]
        finish_pair(campaign_app, tid)
        assert vote(browser, tid, choice).status_code == 201
    options = ["--format", "kto", "--campaign", "bad", "--aggregate", "majority"]
    result, lines = export(runner, *options)
    assert result.exit_code == 0, result.output
    assert [line["label"] for line in lines] == [False, False]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--campaign", "nope"], "no campaign is called 'nope'"),
        (["--aggregate", "majority", "--format", "raw"], "raw keeps every vote"),
        (["--aggregate", "mean"], "'mean' is not 'majority'"),
    ],
)
def test_bad_campaign_options_are_refused(campaign_app, runner, options, message):
    result = runner.invoke(args=["preferences", "export", "-o", "-", *options])
    assert result.exit_code == 2 and message in result.output, result.output
