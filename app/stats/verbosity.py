"""Does length win votes? The length-controlled leaderboard and the chosen/rejected length ratio.

Preference data tends to reward verbosity: a model can climb a leaderboard by writing more,
and a DPO run trained on the votes learns to write more. The length-controlled ratings (app/
stats/length_control.py) say who wins with length and markdown held equal; the ratio of the
chosen answer's length to the rejected one's says how strongly the raters lean to length.
"""

from __future__ import annotations

import statistics
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from app.stats.leaderboard import LeaderRow, competitor_name
from app.stats.length_control import Covariate, StyleBattles, fit_controlled
from app.stats.queries import Side
from app.stats.style import STYLE_FEATURES, style_of, words

_SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5}


@dataclass(frozen=True)
class LengthRatio:
    """Words of the chosen answer over words of the rejected one, over decisive votes."""

    votes: int
    mean: float | None
    median: float | None
    chosen_longer_share: float | None  # votes where the chosen answer has more words


@dataclass
class LengthControl:
    """How the length-controlled fit went: the votes it used and the style coefficients."""

    votes: int = 0
    features: list[str] = field(default_factory=lambda: list(STYLE_FEATURES))
    covariates: list[Covariate] = field(default_factory=list)


def length_ratio(ratios: list[float], longer: int) -> LengthRatio:
    """The summary of per-vote chosen/rejected length ratios."""
    if not ratios:
        return LengthRatio(0, None, None, None)
    return LengthRatio(
        len(ratios), statistics.fmean(ratios), statistics.median(ratios), longer / len(ratios)
    )


def verbosity(
    votes: Iterable[tuple[Side, Side, str, str, str]],
    rows: list[LeaderRow],
    by_setting: bool,
) -> tuple[LengthControl, LengthRatio]:
    """Fill the rows' length-controlled ratings from the votes; the fit's summary and the
    length ratio. Votes between a competitor and itself count for the ratio only."""
    rated = [row for row in rows if row.rating is not None]
    index = {row.competitor: i for i, row in enumerate(rated)}
    first, second, score = array("l"), array("l"), array("d")
    style_a, style_b = array("l"), array("l")
    ratios: list[float] = []
    longer = 0
    for a_side, b_side, choice, a_text, b_text in votes:
        if choice in ("a", "b"):
            chosen, rejected = (a_text, b_text) if choice == "a" else (b_text, a_text)
            chosen_words, rejected_words = words(chosen), words(rejected)
            ratios.append(max(chosen_words, 1) / max(rejected_words, 1))
            longer += chosen_words > rejected_words
        a = index.get(competitor_name(a_side, by_setting))
        b = index.get(competitor_name(b_side, by_setting))
        if a is None or b is None or a == b:
            continue
        first.append(a)
        second.append(b)
        score.append(_SCORE[choice])
        style_a.extend(style_of(a_text).values())
        style_b.extend(style_of(b_text).values())
    control = LengthControl(votes=len(score))
    if len(score) and index:
        k = len(STYLE_FEATURES)
        fitted = fit_controlled(
            StyleBattles(
                first=np.array(first, dtype=np.intp),
                second=np.array(second, dtype=np.intp),
                score=np.array(score, dtype=float),
                style_a=np.array(style_a, dtype=float).reshape(-1, k),
                style_b=np.array(style_b, dtype=float).reshape(-1, k),
                competitors=len(rated),
            ),
            STYLE_FEATURES,
        )
        control.covariates = fitted.covariates
        for i, row in enumerate(rated):
            row.controlled_rating = float(fitted.rating[i])
            row.controlled_ci95 = (float(fitted.low[i]), float(fitted.high[i]))
    return control, length_ratio(ratios, longer)
