"""Length-controlled Bradley-Terry: ratings with answer length and markdown held equal.

FastChat's "style control" (`construct_style_matrices` and `fit_mle_elo` in
fastchat/serve/monitor/elo_analysis.py) fits one logistic regression on every vote: a +1
column for the competitor in slot A, -1 for the one in slot B, and one column per style
feature holding the normalised difference of the two answers, (a - b) / (a + b + 1),
standardised to mean 0 and standard deviation 1. The competitors' coefficients are the
ratings with style held equal; a feature's coefficient says how much more likely the answer
with more of it wins (log-odds per standard deviation): a positive length coefficient means
raters reward longer answers whatever the model.

The fit is Newton's method, as in app/stats/bradley_terry.py (a tie is a score of 0.5, a
vanishing ridge pins the mean rating to 1000). Intervals are 95 % Wald intervals from the
robust ("sandwich") covariance, which holds for ties and for raters who are not the model's
coin flips: bootstrapping a regression over every single vote is too slow for a web page.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from app.stats.bradley_terry import to_rating

_Z95 = 1.959963984540054
_RIDGE = 1e-6
_TOLERANCE = 1e-9
_MAX_STEPS = 100


@dataclass(frozen=True)
class StyleBattles:
    """One row per vote: competitor indices, A's score, and each side's style features."""

    first: np.ndarray  # int, competitor in slot A
    second: np.ndarray  # int, competitor in slot B
    score: np.ndarray  # 1 A won, 0 B won, 0.5 a tie
    style_a: np.ndarray  # votes x features
    style_b: np.ndarray
    competitors: int


@dataclass(frozen=True)
class Covariate:
    """A style feature's coefficient (log-odds per standard deviation) and its 95 % interval."""

    name: str
    # None: the feature never differed, or only ever with which competitor answered, so it
    # cannot be told apart from the competitors' strengths
    coefficient: float | None
    ci95: tuple[float, float] | None


@dataclass(frozen=True)
class ControlledRatings:
    """Ratings with style held equal, their 95 % intervals, and the style coefficients."""

    rating: np.ndarray
    low: np.ndarray
    high: np.ndarray
    covariates: list[Covariate]


def normalised_differences(style_a: np.ndarray, style_b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b + 1) per feature, standardised; a column that never varies is 0."""
    a, b = style_a.astype(float), style_b.astype(float)
    diff = (a - b) / (a + b + 1.0)
    mean, std = diff.mean(axis=0), diff.std(axis=0)
    safe = np.where(std > 1e-12, std, 1.0)
    return np.where(std > 1e-12, (diff - mean) / safe, 0.0)


def _objective(x: np.ndarray, y: np.ndarray, w: np.ndarray, theta: np.ndarray) -> float:
    z = x @ theta
    ll = -(w * (y * np.logaddexp(0.0, -z) + (1.0 - y) * np.logaddexp(0.0, z))).sum()
    return float(ll - 0.5 * _RIDGE * theta @ theta)


def _fit(x: np.ndarray, y: np.ndarray, w: np.ndarray, models: int) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood coefficients (model block mean 0) and H + u u^T at the optimum."""
    width = x.shape[1]
    # u: the direction ratings are undefined along (all competitors shifted alike).
    u = np.zeros(width)
    u[:models] = 1.0
    shift = np.outer(u, u)
    theta = np.zeros(width)
    current = _objective(x, y, w, theta)
    hessian = shift
    for _ in range(_MAX_STEPS):
        p = 1.0 / (1.0 + np.exp(-(x @ theta)))
        gradient = x.T @ (w * (y - p)) - _RIDGE * theta
        hessian = (x * (w * p * (1.0 - p))[:, None]).T @ x + _RIDGE * np.eye(width) + shift
        step = np.linalg.solve(hessian, gradient)
        step[:models] -= step[:models].mean()
        size = 1.0
        candidate = current
        while size > 1e-8:  # backtrack when a full step overshoots (nearly separated data)
            candidate = _objective(x, y, w, theta + size * step)
            if candidate >= current - 1e-12 * (1.0 + abs(current)):
                break
            size /= 2
        theta, current = theta + size * step, candidate
        if np.max(np.abs(size * step)) < _TOLERANCE:
            break
    return theta, hessian


def _identifiable(indicators: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Which feature columns the fit can tell apart from the competitors and each other.

    A feature that never differs says nothing; one that moves in lockstep with which
    competitor answered (a model that always, and alone, writes bold) cannot be told apart
    from that competitor's strength: fitting it anyway sends both to arbitrary values.
    """
    kept = np.zeros(features.shape[1], dtype=bool)
    # With a constant column: standardising shifts a feature by its mean, and a shift alone
    # (a slot-A effect) is no style.
    basis = np.column_stack([indicators, np.ones(len(indicators))])
    for j in range(features.shape[1]):
        column = features[:, j]
        norm = float(column @ column)
        if norm == 0.0:
            continue
        coefficients, *_ = np.linalg.lstsq(basis, column, rcond=None)
        residual = column - basis @ coefficients
        # Less than 0.1 % of its variance of its own: too little to fit a coefficient on.
        if float(residual @ residual) > 1e-3 * norm:
            kept[j] = True
            basis = np.column_stack([basis, column])
    return kept


def fit_controlled(battles: StyleBattles, names: tuple[str, ...]) -> ControlledRatings:
    """Fit the style-controlled model; `names` name the style feature columns."""
    n, models = len(battles.score), battles.competitors
    features = normalised_differences(battles.style_a, battles.style_b)
    indicators = np.zeros((n, models))
    rows = np.arange(n)
    indicators[rows, battles.first] += 1.0
    indicators[rows, battles.second] -= 1.0
    varies = _identifiable(indicators, features)
    x = np.column_stack([indicators, features[:, varies]])
    y, w = battles.score.astype(float), np.ones(n)
    theta, hessian = _fit(x, y, w, models)
    # Sandwich covariance: H^-1 (sum of per-vote score outer products) H^-1.
    p = 1.0 / (1.0 + np.exp(-(x @ theta)))
    scores = x * (y - p)[:, None]
    bread = np.linalg.inv(hessian)
    covariance = bread @ (scores.T @ scores) @ bread
    se = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    rating = to_rating(theta[:models])
    points = 400.0 / math.log(10.0)  # rating points per unit of natural log-odds
    low, high = rating - _Z95 * points * se[:models], rating + _Z95 * points * se[:models]
    covariates, column = [], models
    for name, used in zip(names, varies, strict=True):
        if not used:
            covariates.append(Covariate(name, None, None))
            continue
        beta, half = float(theta[column]), _Z95 * float(se[column])
        covariates.append(Covariate(name, beta, (beta - half, beta + half)))
        column += 1
    return ControlledRatings(rating, low, high, covariates)
