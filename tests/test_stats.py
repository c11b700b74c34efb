"""`flask preferences stats`: Bradley-Terry ratings, position bias, the leaderboard, the plot."""

from __future__ import annotations

import json
import math
from collections import Counter

import numpy as np
import pytest

from app.extensions import db
from app.stats import wilson_interval
from app.stats.bradley_terry import Battles, rate
from tests.stored_votes import _close_connections, add_conversation, add_turn, at  # noqa: F401


def battles_from(outcomes: Counter, competitors: int) -> Battles:
    """Battles from a Counter of (first, second, score) -> count."""
    keys = sorted(outcomes)
    return Battles(
        first=np.array([k[0] for k in keys]),
        second=np.array([k[1] for k in keys]),
        score=np.array([k[2] for k in keys]),
        count=np.array([outcomes[k] for k in keys], dtype=float),
        competitors=competitors,
    )


def test_bradley_terry_recovers_known_strengths_from_synthetic_votes():
    true = np.array([1200.0, 1100.0, 1000.0, 700.0])
    rng = np.random.default_rng(7)
    first, second = rng.integers(0, 4, 30_000), rng.integers(0, 4, 30_000)
    keep = first != second
    first, second = first[keep], second[keep]
    p_first = 1 / (1 + 10 ** ((true[second] - true[first]) / 400))
    score = (rng.random(len(first)) < p_first).astype(float)

    ratings = rate(
        battles_from(Counter(zip(first, second, score, strict=True)), 4), rounds=200, seed=1
    )

    expected = true - true.mean() + 1000  # ratings are centred on 1000
    assert np.allclose(ratings.rating, expected, atol=20), ratings.rating
    assert ratings.rating.mean() == pytest.approx(1000)
    assert np.all(ratings.low < ratings.rating) and np.all(ratings.rating < ratings.high)
    assert np.all(ratings.high - ratings.low < 40)  # 95% intervals on ~7,500 battles each
    assert np.all((ratings.low - 10 < expected) & (expected < ratings.high + 10))


def test_400_points_are_ten_to_one_odds_and_a_tie_is_half_a_win():
    ten_to_one = rate(battles_from(Counter({(0, 1, 1.0): 10, (0, 1, 0.0): 1}), 2), rounds=0)
    assert ten_to_one.rating == pytest.approx([1200, 800])

    with_ties = rate(battles_from(Counter({(0, 1, 0.5): 4, (0, 1, 1.0): 2}), 2), rounds=0)
    decisive = rate(battles_from(Counter({(0, 1, 1.0): 4, (0, 1, 0.0): 2}), 2), rounds=0)
    assert with_ties.rating == pytest.approx(decisive.rating)


def test_the_bootstrap_interval_narrows_with_more_votes():
    def width(n: int) -> float:
        outcomes = Counter({(0, 1, 1.0): 6 * n, (0, 1, 0.0): 4 * n})
        r = rate(battles_from(outcomes, 2), rounds=300, seed=0)
        return float(r.high[0] - r.low[0])

    assert width(100) < width(10) / 2


def test_wilson_interval():
    assert wilson_interval(50, 100) == pytest.approx((0.4038, 0.5962), abs=1e-4)
    assert wilson_interval(0, 0) is None
    low, high = wilson_interval(0, 10)
    assert low == 0 and high == pytest.approx(0.2775, abs=1e-4)


@pytest.fixture
def votes(app):
    """Three endpoints; beta wins most; a both-bad, a tie, a failed pair, an unvoted pair."""
    with app.app_context():
        c = add_conversation("Be brief.")
        add_turn(c, "1", ("alpha", "x"), ("beta", "y"), "b", at(1))
        add_turn(c, "2", ("beta", "x"), ("alpha", "y"), "a", at(2), "requested")
        add_turn(c, "3", ("alpha", "x"), ("beta", "y"), "tie", at(3))
        add_turn(c, "4", ("alpha", "x"), ("beta", "y"), "both_bad", at(4))
        add_turn(c, "5", ("beta", "x"), ("gamma", "y"), "a", at(5), "reroll")
        add_turn(c, "6", ("gamma", "x"), ("alpha", "y"), "b", at(6), b_status="error")
        add_turn(c, "7", ("gamma", "x"), ("beta", "y"))  # paired, not voted
        db.session.commit()


def test_stats_json_reports_totals_vote_rate_bias_and_leaderboard(runner, votes):
    result = runner.invoke(
        args=["preferences", "stats", "--json", "--rounds", "50", "--include-reroll"]
    )

    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["votes"] == 6 and stats["paired_turns"] == 7
    assert stats["vote_rate"] == pytest.approx(6 / 7, abs=1e-4)
    assert {row["trigger"]: (row["paired_turns"], row["votes"]) for row in stats["by_trigger"]} == {
        "sampled": (5, 4),
        "requested": (1, 1),
        "reroll": (1, 1),
        "campaign": (0, 0),
    }
    assert stats["by_choice"] == {"a": 2, "b": 2, "tie": 1, "both_bad": 1}
    bias = stats["position_bias"]
    assert (bias["decisive_votes"], bias["a_wins"], bias["a_share"]) == (4, 2, 0.5)
    assert bias["ci95"][0] < 0.5 < bias["ci95"][1]

    assert stats["leaderboard_by"] == "endpoint"
    board = {row["competitor"]: row for row in stats["leaderboard"]}
    assert [row["competitor"] for row in stats["leaderboard"]] == ["beta", "alpha", "gamma"]
    beta, alpha, gamma = board["beta"], board["alpha"], board["gamma"]
    # The failed pair (6) counts in the totals but not on the leaderboard.
    assert (beta["battles"], beta["wins"], beta["losses"], beta["ties"]) == (4, 3, 0, 1)
    assert beta["win_rate"] == pytest.approx(3.5 / 4)
    assert (alpha["battles"], alpha["wins"], alpha["ties"], alpha["both_bad"]) == (3, 0, 1, 1)
    assert alpha["win_rate"] == pytest.approx(0.5 / 3, abs=1e-4)
    assert (gamma["battles"], gamma["win_rate"], gamma["both_bad"]) == (1, 0.0, 0)
    assert beta["rating"] > alpha["rating"] > gamma["rating"]
    assert beta["ci95"][0] <= beta["rating"] <= beta["ci95"][1]
    assert sum(row["rating"] for row in stats["leaderboard"]) / 3 == pytest.approx(1000)


def test_stats_text_report(runner, votes):
    result = runner.invoke(args=["preferences", "stats", "--rounds", "50", "--include-reroll"])

    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "Votes: 6 on 7 paired turns (vote rate 0.86 votes per paired turn)" in out
    assert "Position bias: A wins 50.0% of 4 decisive votes" in out
    assert "no significant position bias" in out
    lines = out.splitlines()
    board = lines[next(i for i, line in enumerate(lines) if line.startswith("Leaderboard")) :]
    assert [line.split()[1] for line in board[2:5]] == ["beta", "alpha", "gamma"]
    assert "87.5%" in board[2]


def test_one_endpoint_ranks_its_sampling_settings(app, runner):
    cool, warm = {"temperature": 0.7}, {"temperature": 1.2}
    with app.app_context():
        c = add_conversation()
        for minute, choice in enumerate(["a", "a", "b", "a", "tie"], 1):
            add_turn(c, "q", ("alpha", "x", warm), ("alpha", "y", cool), choice, at(minute))
        db.session.commit()
    result = runner.invoke(args=["preferences", "stats", "--json", "--rounds", "20"])

    stats = json.loads(result.stdout)
    assert stats["leaderboard_by"] == "endpoint and sampling setting"
    rows = stats["leaderboard"]
    assert [r["competitor"] for r in rows] == [
        "alpha (temperature=1.2)",
        "alpha (temperature=0.7)",
    ]
    assert rows[0]["params"] == warm and rows[0]["battles"] == 5
    assert rows[0]["win_rate"] == pytest.approx(3.5 / 5)


def test_plot_draws_the_leaderboard_to_a_png(runner, votes, tmp_path):
    path = tmp_path / "board.png"
    result = runner.invoke(args=["preferences", "stats", "--rounds", "50", "--plot", str(path)])

    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = (int.from_bytes(path.read_bytes()[i : i + 4], "big") for i in (16, 20))
    assert width > 800 and height > 300
    assert f"Wrote the leaderboard plot to {path}" in result.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["board.png"]


def test_an_empty_database_reports_no_votes_and_refuses_to_plot(runner, app, tmp_path):
    result = runner.invoke(args=["preferences", "stats"])
    assert result.exit_code == 0, result.output
    assert "Votes: 0 on 0 paired turns" in result.stdout
    assert "no votes between two different competitors yet" in result.stdout

    stats = json.loads(runner.invoke(args=["preferences", "stats", "--json"]).stdout)
    assert stats["vote_rate"] is None and stats["leaderboard"] == []
    assert math.isclose(stats["votes"], 0)

    result = runner.invoke(args=["preferences", "stats", "--plot", str(tmp_path / "x.png")])
    assert result.exit_code == 1
    assert "nothing to plot" in result.stderr
    assert not (tmp_path / "x.png").exists()
