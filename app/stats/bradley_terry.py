"""Bradley-Terry ratings with bootstrap intervals, computed as Chatbot Arena does.

Chatbot Arena (FastChat's `compute_mle_elo` and `compute_bootstrap_bt`) fits a
logistic regression on battles, a tie counting as half a win for each side, and
reports `SCALE * strength / ln(BASE) + INIT_RATING` with SCALE 400, BASE 10 and
INIT_RATING 1000, so 400 points mean 10-to-1 odds. Its 95 % interval is the 2.5th
to 97.5th percentile of ratings refitted on battles resampled with replacement;
resampling draws multinomial counts over the distinct (a, b, outcome) cells, the
same as resampling the battles one by one. Here the fit is Newton's method on the
same likelihood, with a vanishing ridge that pins the mean rating to 1000.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SCALE, BASE, INIT_RATING = 400.0, 10.0, 1000.0
_RIDGE = 1e-6  # only makes the optimum unique; far too small to move a rating
_TOLERANCE = 1e-9
_MAX_STEPS = 100


@dataclass(frozen=True)
class Battles:
    """Distinct battle outcomes and how often each happened.

    `first[c]` met `second[c]` `count[c]` times with score `score[c]` for `first`
    (1 a win, 0 a loss, 0.5 a tie); indices refer to a list of competitors.
    """

    first: np.ndarray
    second: np.ndarray
    score: np.ndarray
    count: np.ndarray
    competitors: int


@dataclass(frozen=True)
class Ratings:
    """Point ratings and their bootstrap 95 % interval, per competitor."""

    rating: np.ndarray
    low: np.ndarray
    high: np.ndarray


def fit_strengths(
    battles: Battles, count: np.ndarray | None = None, start: np.ndarray | None = None
) -> np.ndarray:
    """Maximum-likelihood strengths (natural-log odds scale, mean 0) for the given counts."""
    n = battles.competitors
    count = battles.count if count is None else count
    i, j = battles.first, battles.second
    # Flat positions of (i, j) and (j, i) in the n-by-n Hessian.
    off_diagonal = np.concatenate([i * n + j, j * n + i])
    wins = count * battles.score
    theta = np.zeros(n) if start is None else start - start.mean()

    def objective(t: np.ndarray) -> float:
        d = t[i] - t[j]
        # log sigmoid(d) = -logaddexp(0, -d): stable for any d
        ll = -(wins * np.logaddexp(0.0, -d) + (count - wins) * np.logaddexp(0.0, d)).sum()
        return ll - 0.5 * _RIDGE * float(t @ t)

    current = objective(theta)
    for _ in range(_MAX_STEPS):
        p = 1.0 / (1.0 + np.exp(-(theta[i] - theta[j])))
        residual = wins - count * p
        gradient = np.bincount(i, residual, n) - np.bincount(j, residual, n) - _RIDGE * theta
        curvature = count * p * (1.0 - p)
        # np.bincount with weights counts in floats (numpy's stubs say intp whatever the weights)
        hessian: np.ndarray = -np.bincount(
            off_diagonal, np.concatenate([curvature, curvature]), n * n
        )
        hessian = hessian.reshape(n, n)
        hessian[np.diag_indices(n)] += (
            np.bincount(i, curvature, n) + np.bincount(j, curvature, n) + _RIDGE
        )
        # Ratings are defined up to a shift: 1 1^T makes that direction well-conditioned,
        # and the step is kept mean-free so the mean stays at 0.
        step = np.linalg.solve(hessian + 1.0, gradient)
        step -= step.mean()
        # Backtrack when a full Newton step overshoots (nearly separated data).
        size = 1.0
        while size > 1e-8:
            candidate = objective(theta + size * step)
            if candidate >= current - 1e-12 * (1.0 + abs(current)):
                break
            size /= 2
        theta, current = theta + size * step, candidate
        if np.max(np.abs(size * step)) < _TOLERANCE:
            break
    return theta


def to_rating(strength: np.ndarray) -> np.ndarray:
    """Strengths on the Elo-like scale: base 1000, 400 points per factor of 10 in odds."""
    return INIT_RATING + SCALE * strength / math.log(BASE)


def rate(battles: Battles, rounds: int = 1000, seed: int = 0) -> Ratings:
    """Ratings of every competitor, with percentile intervals over `rounds` bootstrap refits."""
    strength = fit_strengths(battles)
    rating = to_rating(strength)
    if rounds <= 0:
        return Ratings(rating, rating.copy(), rating.copy())
    total = int(battles.count.sum())
    rng = np.random.default_rng(seed)
    samples = rng.multinomial(total, battles.count / total, size=rounds).astype(float)
    # Each refit starts from the full fit, a few Newton steps away from its own optimum.
    boot = np.array([to_rating(fit_strengths(battles, s, strength)) for s in samples])
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    return Ratings(rating, low, high)
