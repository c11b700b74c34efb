"""`flask preferences raters`: who votes like noise, on generated raters."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Feedback, Rating, Skip, Turn
from app.stats.rater_quality import RaterQuality, Thresholds, _agreement, assess
from app.stats.rater_votes import TimedVote
from tests.stored_votes import _close_connections  # noqa: F401
from tests.synthetic_raters import T0, VOTES, add_crowd, add_rater, add_votes, honest


@pytest.fixture
def crowd(app):
    with app.app_context():
        add_crowd()


def by_name(report: dict) -> dict[str, dict]:
    return {r["name"]: r for r in report["raters"]}


def test_flags_the_rater_who_always_picks_a_and_the_one_too_fast_and_not_the_honest(runner, crowd):
    result = runner.invoke(args=["preferences", "raters", "--json"])

    assert result.exit_code == 0, result.output
    raters = by_name(json.loads(result.stdout))
    assert raters["always-a"]["flags"] == ["position_bias"]
    assert raters["speedy"]["flags"] == ["too_fast"]
    assert raters["tie-lover"]["flags"] == ["always_tie"]
    assert raters["honest-1"]["flags"] == [] and raters["honest-2"]["flags"] == []
    assert raters["boss"]["votes"] == 0 and raters["boss"]["flags"] == []
    assert json.loads(result.stdout)["flagged"] == 3


def test_reports_votes_timing_bias_and_ties_per_rater(runner, crowd):
    raters = by_name(json.loads(runner.invoke(args=["preferences", "raters", "--json"]).stdout))

    honest = raters["honest-1"]
    assert (honest["votes"], honest["ratings"], honest["skips"]) == (VOTES, 0, 0)
    assert honest["median_seconds_to_vote"] == pytest.approx(40)
    assert honest["median_seconds_per_100_words"] == pytest.approx(40 / 3, abs=1e-3)
    assert honest["fast_share"] == 0.0 and honest["timed_votes"] == VOTES
    bias = honest["position_bias"]
    assert (bias["decisive_votes"], bias["a_wins"], bias["a_share"]) == (32, 16, 0.5)
    assert bias["ci95"][0] < 0.5 < bias["ci95"][1]
    assert honest["tie_share"] == pytest.approx(0.2)
    assert honest["agreement"] is None and honest["shared_items"] == 0  # no shared items yet

    always_a = raters["always-a"]["position_bias"]
    assert always_a["a_share"] == 1.0 and always_a["ci95"][0] > 0.9
    speedy = raters["speedy"]
    assert speedy["median_seconds_to_vote"] == pytest.approx(1)
    assert speedy["fast_share"] == 1.0


def test_text_report_names_each_rater_and_flag(runner, crowd):
    result = runner.invoke(args=["preferences", "raters"])

    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.stdout.splitlines() if line.strip()}
    assert lines["always-a"].endswith("position_bias")
    assert lines["speedy"].endswith("too_fast")
    assert lines["honest-1"].endswith("-")
    assert "Raters: 6, flagged: 3" in result.stdout


@pytest.mark.settings(RATER_FLAG_MIN_VOTES=41)
def test_no_flag_before_enough_votes(runner, crowd):
    raters = by_name(json.loads(runner.invoke(args=["preferences", "raters", "--json"]).stdout))
    assert all(r["flags"] == [] for r in raters.values())


@pytest.mark.settings(READING_FLOOR_WORDS_PER_SECOND=1000.0)
def test_the_reading_floor_is_a_setting(runner, crowd):
    raters = by_name(json.loads(runner.invoke(args=["preferences", "raters", "--json"]).stdout))
    assert raters["speedy"]["fast_share"] == 0.0 and raters["speedy"]["flags"] == []


def test_reroll_votes_do_not_count_as_position_bias():
    # A re-roll keeps the disliked original in slot A: voting B there is no bias.
    votes = [TimedVote("r", "b", "reroll", None, None, None, 10) for _ in range(30)]
    rater = assess(RaterQuality("r", "r", "rater", "invite", False), votes, None, Thresholds())
    assert rater.position_bias.decisive_votes == 0 and rater.flags == []


def test_agreement_on_shared_items_and_its_flag():
    shared = []
    for item in range(25):
        shared += [(f"t{item}", "x", "a"), (f"t{item}", "y", "a"), (f"t{item}", "z", "b")]
    agreement = _agreement(shared)
    assert agreement["x"] == (25, 0.5) and agreement["z"] == (25, 0.0)
    z = assess(RaterQuality("z", "z", "rater", "invite", False), [], agreement["z"], Thresholds())
    assert z.flags == ["low_agreement"]
    x = assess(RaterQuality("x", "x", "rater", "invite", False), [], agreement["x"], Thresholds())
    assert x.flags == []


def test_counts_ratings_and_skips_and_measures_agreement_on_shared_turns(app, runner):
    with app.app_context():
        raters = {name: add_rater(name) for name in ("x", "y", "z")}
        add_votes(raters["x"], honest, n=25)
        turns = db.session.scalars(select(Turn).order_by(Turn.created_at)).all()
        for i, turn in enumerate(turns):
            # y votes as x did on every shared turn, z the other way on every decisive one.
            choice = honest(i)
            flipped = {"a": "b", "b": "a"}.get(choice, choice)
            for rater, vote in ((raters["y"], choice), (raters["z"], flipped)):
                db.session.add(
                    Feedback(turn_id=turn.id, choice=vote, rater_id=rater.id, created_at=T0)
                )
        first = turns[0]
        db.session.add(
            Rating(response_id=first.responses[0].id, rater_id=raters["y"].id, rating="up")
        )
        db.session.add(Skip(turn_id=turns[1].id, rater_id=raters["y"].id))
        db.session.commit()

    raters = by_name(json.loads(runner.invoke(args=["preferences", "raters", "--json"]).stdout))

    assert (raters["y"]["ratings"], raters["y"]["skips"]) == (1, 1)
    assert raters["x"]["shared_items"] == 25
    # x agrees with y always and with z on the 5 ties only: (25 + 5) / 50.
    assert raters["x"]["agreement"] == pytest.approx(30 / 50)
    assert raters["z"]["agreement"] == pytest.approx(10 / 50)
    assert "low_agreement" in raters["z"]["flags"]
    assert "low_agreement" not in raters["x"]["flags"] + raters["y"]["flags"]
