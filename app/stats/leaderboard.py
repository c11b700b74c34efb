"""The leaderboard: win rates and Bradley-Terry ratings of endpoints (or their settings)."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.stats.bradley_terry import Battles, rate
from app.stats.queries import Side

BY_ENDPOINT, BY_SETTING = "endpoint", "endpoint and sampling setting"
_SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5}


@dataclass
class LeaderRow:
    """One competitor (endpoint, or endpoint and sampling setting) on the leaderboard."""

    competitor: str
    endpoint: str
    params: dict[str, Any] | None
    rating: float | None = None
    ci95: tuple[float, float] | None = None
    # The rating with answer length and markdown held equal (app/stats/length_control.py).
    controlled_rating: float | None = None
    controlled_ci95: tuple[float, float] | None = None
    win_rate: float | None = None  # a tie counts half
    battles: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    both_bad: int = 0

    def record(self, score: float, n: int) -> None:
        """Count `n` battles that this competitor scored `score` in (1 win, 0.5 tie, 0 loss)."""
        self.battles += n
        if score == 1.0:
            self.wins += n
        elif score == 0.0:
            self.losses += n
        else:
            self.ties += n


def settings_label(params: dict[str, Any]) -> str:
    """Sampling settings in short: `temperature=0.7, top_p=0.9`."""
    if not params:
        return "default settings"
    return ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(params.items()))


def ranks_settings(matchups: Counter[tuple[Side, Side, str]]) -> bool:
    """Whether competitors are sampling settings: every vote is on one endpoint."""
    return len({side.endpoint for a, b, _ in matchups for side in (a, b)}) == 1


def competitor_name(side: Side, by_setting: bool) -> str:
    """The leaderboard's name of what answered: the endpoint, or endpoint and settings."""
    if by_setting:
        return f"{side.endpoint} ({settings_label(side.settings())})"
    return side.endpoint


def leaderboard(
    matchups: Counter[tuple[Side, Side, str]], rounds: int, seed: int
) -> tuple[list[LeaderRow], str, int]:
    """Rows sorted best first, what a competitor is, and the votes between a competitor and itself.

    Competitors are endpoints; with a single endpoint they are its sampling settings.
    A tie counts half a win for each side; both-bad votes are only counted, per row.
    """
    by_setting = ranks_settings(matchups)
    rows: dict[str, LeaderRow] = {}

    def row(side: Side) -> LeaderRow:
        name = competitor_name(side, by_setting)
        if name not in rows:
            params = side.settings() if by_setting else None
            rows[name] = LeaderRow(name, side.endpoint, params)
        return rows[name]

    cells: Counter[tuple[str, str, float]] = Counter()
    same = 0
    for (a_side, b_side, choice), n in sorted(matchups.items(), key=repr):
        a, b = row(a_side), row(b_side)
        if a is b:
            same += n
            continue
        if choice == "both_bad":
            a.both_bad += n
            b.both_bad += n
            continue
        score = _SCORE[choice]
        cells[(a.competitor, b.competitor, score)] += n
        a.record(score, n)
        b.record(1.0 - score, n)
    _rate(rows, cells, rounds, seed)
    ordered = sorted(
        rows.values(),
        key=lambda r: (r.rating is None, -(r.rating or 0.0), r.competitor),
    )
    return ordered, BY_SETTING if by_setting else BY_ENDPOINT, same


def _rate(
    rows: dict[str, LeaderRow], cells: Counter[tuple[str, str, float]], rounds: int, seed: int
) -> None:
    """Fill in win rates and ratings of the rows that took part in a battle."""
    for r in rows.values():
        if r.battles:
            r.win_rate = (r.wins + 0.5 * r.ties) / r.battles
    if not cells:
        return
    names = sorted({name for a, b, _ in cells for name in (a, b)})
    index = {name: i for i, name in enumerate(names)}
    keys = sorted(cells)
    battles = Battles(
        first=np.array([index[a] for a, _, _ in keys]),
        second=np.array([index[b] for _, b, _ in keys]),
        score=np.array([s for _, _, s in keys]),
        count=np.array([cells[k] for k in keys], dtype=float),
        competitors=len(names),
    )
    ratings = rate(battles, rounds, seed)
    for name, i in index.items():
        rows[name].rating = float(ratings.rating[i])
        rows[name].ci95 = (float(ratings.low[i]), float(ratings.high[i]))
