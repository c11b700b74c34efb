"""The leaderboard's additions: length-controlled ratings, the length ratio, the win-rate
matrix, and re-roll votes left out by default."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from app.extensions import db
from app.stats.length_control import StyleBattles, fit_controlled, normalised_differences
from app.stats.style import STYLE_FEATURES, style_of
from tests.stored_votes import _close_connections, add_conversation, add_turn, at  # noqa: F401

STRENGTH = {"verbose": 0.0, "plain": 0.0, "strong": 0.7}  # natural log-odds
MEAN_WORDS = {"verbose": 300, "plain": 100, "strong": 100}
LENGTH_EFFECT = 2.5  # log-odds per unit of (a - b) / (a + b + 1)
POINTS = 400 / math.log(10)


def simulate(n: int, seed: int):
    """Votes where `verbose` is as good as `plain` but longer, and raters reward length."""
    rng = np.random.default_rng(seed)
    names = list(STRENGTH)
    first = rng.integers(0, 3, n)
    second = (first + rng.integers(1, 3, n)) % 3
    means = np.array([MEAN_WORDS[m] for m in names])
    length_a = np.maximum(1, rng.lognormal(np.log(means[first]), 0.5)).astype(int)
    length_b = np.maximum(1, rng.lognormal(np.log(means[second]), 0.5)).astype(int)
    strength = np.array([STRENGTH[m] for m in names])
    diff = (length_a - length_b) / (length_a + length_b + 1)
    p_a = 1 / (1 + np.exp(-(strength[first] - strength[second] + LENGTH_EFFECT * diff)))
    a_wins = rng.random(n) < p_a
    return names, first, second, length_a, length_b, a_wins


def test_style_features_count_length_headers_lists_and_bold_outside_code():
    text = (
        "# Title\n\nSome **bold** words:\n\n- one\n- two\n1. three\n```\n# not a header\n- no\n```"
    )
    style = style_of(text)
    assert (style.headers, style.lists, style.bold) == (1, 3, 1)
    assert style.length == len(text.split())
    assert STYLE_FEATURES == ("length", "headers", "lists", "bold")


def test_normalised_differences_are_standardised_and_a_constant_feature_is_zero():
    a = np.array([[10, 0], [30, 0], [5, 0]])
    b = np.array([[10, 0], [10, 0], [20, 0]])
    z = normalised_differences(a, b)
    assert z[:, 0].mean() == pytest.approx(0) and z[:, 0].std() == pytest.approx(1)
    assert np.all(z[:, 1] == 0)


def test_length_control_takes_away_the_edge_of_a_model_that_only_wins_by_length():
    names, first, second, length_a, length_b, a_wins = simulate(6000, seed=11)
    zeros = np.zeros((len(first), 3))
    fitted = fit_controlled(
        StyleBattles(
            first,
            second,
            a_wins.astype(float),
            np.column_stack([length_a, zeros]),
            np.column_stack([length_b, zeros]),
            3,
        ),
        STYLE_FEATURES,
    )
    rating = dict(zip(names, fitted.rating, strict=True))
    low, high = (
        dict(zip(names, fitted.low, strict=True)),
        dict(zip(names, fitted.high, strict=True)),
    )
    # Controlled: verbose and plain alike, strong ahead by its true strength.
    assert abs(rating["verbose"] - rating["plain"]) < 25
    assert low["verbose"] < rating["plain"] < high["verbose"]
    assert rating["strong"] - rating["plain"] == pytest.approx(0.7 * POINTS, abs=25)
    length = fitted.covariates[0]
    assert length.name == "length" and length.ci95[0] > 0  # longer answers win
    assert [c.coefficient for c in fitted.covariates[1:]] == [None, None, None]


@pytest.fixture
def verbose_votes(app):
    """600 votes through the database, as simulate() makes them."""
    names, first, second, length_a, length_b, a_wins = simulate(600, seed=5)
    with app.app_context():
        for i in range(len(first)):
            if i % 20 == 0:  # short conversations: each turn's context reads the earlier ones
                conversation = add_conversation()
            a = (names[first[i]], "word " * int(length_a[i]), {})
            b = (names[second[i]], "word " * int(length_b[i]), {})
            add_turn(conversation, str(i), a, b, "a" if a_wins[i] else "b", at(i + 1))
        db.session.commit()


def test_stats_reports_plain_and_length_controlled_ratings_side_by_side(runner, verbose_votes):
    result = runner.invoke(args=["preferences", "stats", "--json", "--rounds", "30"])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    board = {row["competitor"]: row for row in stats["leaderboard"]}

    # Plain Bradley-Terry rewards verbose's length; length control takes that away.
    assert board["verbose"]["rating"] - board["plain"]["rating"] > 60
    controlled_gap = board["verbose"]["controlled_rating"] - board["plain"]["controlled_rating"]
    assert abs(controlled_gap) < 50
    low, high = board["verbose"]["controlled_ci95"]
    assert low < board["verbose"]["controlled_rating"] < high
    covariates = {c["name"]: c for c in stats["length_control"]["covariates"]}
    assert stats["length_control"]["votes"] == 600
    assert covariates["length"]["ci95"][0] > 0 and covariates["bold"]["coefficient"] is None
    ratio = stats["length_ratio"]
    assert ratio["votes"] == 600 and ratio["mean"] > 1.2 and ratio["chosen_longer_share"] > 0.55

    text = runner.invoke(args=["preferences", "stats", "--rounds", "30"]).stdout
    assert "length-controlled" in text and "Length control, on 600 votes" in text
    assert "Length: the chosen answer has" in text


@pytest.fixture
def few_votes(app):
    with app.app_context():
        c = add_conversation()
        add_turn(c, "1", ("alpha", "x"), ("beta", "y"), "b", at(1))
        add_turn(c, "2", ("beta", "x"), ("alpha", "y"), "a", at(2))
        add_turn(c, "3", ("alpha", "x"), ("beta", "y"), "tie", at(3))
        add_turn(c, "4", ("gamma", "x"), ("beta", "y"), "a", at(4))
        add_turn(c, "5", ("alpha", "x"), ("gamma", "y"), "a", at(5), "reroll")
        add_turn(c, "6", ("alpha", "x"), ("gamma", "y"), "a", at(6), "reroll")
        db.session.commit()


def test_reroll_votes_are_left_out_of_ratings_and_bias_unless_asked(runner, few_votes):
    default = json.loads(
        runner.invoke(args=["preferences", "stats", "--json", "--rounds", "20"]).stdout
    )
    assert default["include_reroll"] is False and default["reroll_votes_left_out"] == 2
    assert default["votes"] == 6  # the totals still count them
    assert default["position_bias"]["decisive_votes"] == 3
    alpha = next(r for r in default["leaderboard"] if r["competitor"] == "alpha")
    assert alpha["battles"] == 3

    included = json.loads(
        runner.invoke(
            args=["preferences", "stats", "--json", "--rounds", "20", "--include-reroll"]
        ).stdout
    )
    assert included["include_reroll"] is True and included["reroll_votes_left_out"] == 0
    assert included["position_bias"]["decisive_votes"] == 5
    alpha = next(r for r in included["leaderboard"] if r["competitor"] == "alpha")
    assert alpha["battles"] == 5

    text = runner.invoke(args=["preferences", "stats", "--rounds", "20"]).stdout
    assert "2 re-roll votes are left out" in text and "--include-reroll" in text


def test_win_rate_matrix_head_to_head(runner, few_votes):
    stats = json.loads(
        runner.invoke(args=["preferences", "stats", "--json", "--rounds", "0"]).stdout
    )
    matrix = stats["win_rates"]
    assert matrix["competitors"] == [row["competitor"] for row in stats["leaderboard"]]
    i = {name: k for k, name in enumerate(matrix["competitors"])}
    beta, alpha, gamma = i["beta"], i["alpha"], i["gamma"]
    assert matrix["battles"][beta][alpha] == 3 and matrix["battles"][alpha][beta] == 3
    assert matrix["win_rate"][beta][alpha] == pytest.approx(2.5 / 3, abs=1e-4)
    assert matrix["win_rate"][alpha][beta] == pytest.approx(0.5 / 3, abs=1e-4)
    assert matrix["win_rate"][gamma][beta] == 1.0
    assert matrix["win_rate"][alpha][gamma] is None  # met only in re-rolls, left out
    assert matrix["win_rate"][alpha][alpha] is None


def test_a_feature_only_one_competitor_ever_has_is_left_out_not_fitted_to_infinity():
    # gamma alone writes bold, always: bold cannot be told apart from being gamma.
    names, first, second, length_a, length_b, a_wins = simulate(3000, seed=2)
    gamma = names.index("strong")
    bold_a, bold_b = (first == gamma).astype(float), (second == gamma).astype(float)
    zeros = np.zeros((len(first), 2))
    fitted = fit_controlled(
        StyleBattles(
            first,
            second,
            a_wins.astype(float),
            np.column_stack([length_a, zeros, bold_a]),
            np.column_stack([length_b, zeros, bold_b]),
            3,
        ),
        STYLE_FEATURES,
    )
    assert fitted.covariates[3].name == "bold" and fitted.covariates[3].coefficient is None
    assert fitted.covariates[0].coefficient is not None
    assert np.all(np.abs(fitted.rating - 1000) < 200), fitted.rating
