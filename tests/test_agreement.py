"""Agreement between raters: Krippendorff's alpha against a hand computation and published
reference values, its bootstrap interval, percent agreement, and each rater's agreement."""

from __future__ import annotations

import math

import numpy as np
import pytest

from app.campaigns.agreement import (
    agreement,
    alpha,
    alpha_interval,
    percent_agreement,
    rater_shares,
    value_counts,
)

# Two raters, X and Y, on four items.
SMALL = [
    ("i1", "X", "a"),
    ("i1", "Y", "a"),
    ("i2", "X", "a"),
    ("i2", "Y", "b"),
    ("i3", "X", "b"),
    ("i3", "Y", "b"),
    ("i4", "X", "b"),
    ("i4", "Y", "b"),
]


def test_alpha_of_a_small_table_matches_the_hand_computation():
    """By hand: the coincidence matrix has o(a,a) = 2, o(b,b) = 4, o(a,b) = o(b,a) = 1;
    n(a) = 3, n(b) = 5, n = 8. Observed disagreement D_o = 2/8; expected
    D_e = 2 * 3 * 5 / (8 * 7) = 30/56; alpha = 1 - D_o / D_e = 1 - 7/15 = 8/15."""
    counts = value_counts(SMALL)
    assert counts.tolist() == [[2, 0, 0, 0], [1, 1, 0, 0], [0, 2, 0, 0], [0, 2, 0, 0]]
    assert alpha(counts) == pytest.approx(8 / 15, abs=1e-12)
    # Three of the four pairs of votes agree.
    assert percent_agreement(counts) == pytest.approx(0.75)


def _counts(reliability_data: list[list[float]], values: list[int]) -> np.ndarray:
    """Per unit, how many coders gave each value (the data as observers x units)."""
    data = np.array(reliability_data, dtype=float)
    return np.array([[np.sum(data[:, u] == v) for v in values] for u in range(data.shape[1])])


def test_alpha_matches_krippendorffs_published_example():
    """Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", example C: four
    observers, twelve units, values 1 to 5, missing data; nominal alpha = 0.743."""
    n = math.nan
    data = [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, n, n, n],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, n, 3],
        [n, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, n],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, n],
    ]
    assert round(alpha(_counts(data, [1, 2, 3, 4, 5])), 3) == 0.743


def test_alpha_matches_the_published_binary_example():
    """The same paper, example A: two observers, ten units, binary: alpha = 0.095."""
    data = [[0, 1, 0, 0, 0, 0, 0, 0, 1, 0], [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]]
    assert round(alpha(_counts(data, [0, 1])), 3) == 0.095


def test_alpha_is_undefined_without_pairs_or_without_variation():
    assert alpha(value_counts([("i1", "X", "a")])) is None  # one vote per item: no pairs
    assert alpha(value_counts([])) is None
    same = [(f"i{i}", r, "tie") for i in range(5) for r in "XY"]
    assert alpha(value_counts(same)) is None  # nothing to expect a disagreement from
    assert percent_agreement(value_counts(same)) == 1.0


def test_perfect_agreement_is_one_and_systematic_disagreement_is_negative():
    perfect = [(f"i{i}", r, "ab"[i % 2]) for i in range(6) for r in "XYZ"]
    assert alpha(value_counts(perfect)) == pytest.approx(1.0)
    opposed = [(f"i{i}", "X", "a") for i in range(6)] + [(f"i{i}", "Y", "b") for i in range(6)]
    assert alpha(value_counts(opposed)) < 0


def _noisy_votes(items: int, raters: int, noise: float, seed: int) -> list[tuple]:
    rng = np.random.default_rng(seed)
    votes = []
    for i in range(items):
        truth = rng.choice(["a", "b", "tie", "both_bad"], p=[0.45, 0.4, 0.1, 0.05])
        for r in range(raters):
            choice = rng.choice(["a", "b", "tie", "both_bad"]) if rng.random() < noise else truth
            votes.append((f"i{i}", f"r{r}", str(choice)))
    return votes


def test_the_bootstrap_interval_holds_alpha_is_seeded_and_narrows_with_more_items():
    small = value_counts(_noisy_votes(30, 3, 0.4, seed=1))
    large = value_counts(_noisy_votes(600, 3, 0.4, seed=1))
    low, high = alpha_interval(small, rounds=400, seed=7)
    assert low < alpha(small) < high
    assert alpha_interval(small, rounds=400, seed=7) == (low, high)  # the same seed, the same
    large_low, large_high = alpha_interval(large, rounds=400, seed=7)
    assert large_low < alpha(large) < large_high
    assert large_high - large_low < (high - low) / 2
    assert alpha_interval(value_counts(SMALL[:2]), rounds=100) is None  # one item: no interval


def test_each_raters_agreement_is_with_the_others_on_shared_items():
    votes = [
        *SMALL,
        ("i1", "Z", "b"),  # Z disagrees with both on i1
        ("i5", "Z", "a"),  # an item nobody else voted on: not shared
    ]
    shares = rater_shares(votes)
    # X: i1 (Y the same, Z not), i2 (Y not), i3 and i4 (the same): 3 of 5 pairs; Y alike.
    assert (shares["X"].shared_items, shares["X"].agreement) == (4, pytest.approx(3 / 5))
    assert (shares["Y"].shared_items, shares["Y"].agreement) == (4, pytest.approx(3 / 5))
    assert (shares["Z"].shared_items, shares["Z"].agreement) == (1, 0.0)


def test_the_campaign_figures_come_together():
    result = agreement(SMALL, rounds=50, seed=0).to_json()
    assert result["items_compared"] == 4 and result["votes_compared"] == 8
    assert result["alpha"] == round(8 / 15, 4)
    assert result["percent_agreement"] == 0.75
    assert result["bootstrap_rounds"] == 50
