"""The win-rate matrix: how often each competitor beat each other one, head to head."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from app.stats.leaderboard import competitor_name
from app.stats.queries import Side

_SCORE = {"a": 1.0, "b": 0.0, "tie": 0.5}


@dataclass
class WinRates:
    """`win_rate[i][j]`: the share of battles of competitors[i] against competitors[j] that
    i won, a tie counting half (None when they never met); `battles[i][j]` how many."""

    competitors: list[str] = field(default_factory=list)
    win_rate: list[list[float | None]] = field(default_factory=list)
    battles: list[list[int]] = field(default_factory=list)


def win_rate_matrix(
    matchups: Counter[tuple[Side, Side, str]], by_setting: bool, order: list[str]
) -> WinRates:
    """The head-to-head matrix of the competitors in `order` (the leaderboard's), from the
    votes; both-bad votes and a competitor's votes against itself are left out."""
    index = {name: i for i, name in enumerate(order)}
    n = len(order)
    points = [[0.0] * n for _ in range(n)]
    battles = [[0] * n for _ in range(n)]
    for (a_side, b_side, choice), count in matchups.items():
        if choice not in _SCORE:
            continue
        a = index.get(competitor_name(a_side, by_setting))
        b = index.get(competitor_name(b_side, by_setting))
        if a is None or b is None or a == b:
            continue
        score = _SCORE[choice]
        points[a][b] += score * count
        points[b][a] += (1.0 - score) * count
        battles[a][b] += count
        battles[b][a] += count
    rates = [
        [points[i][j] / battles[i][j] if battles[i][j] else None for j in range(n)]
        for i in range(n)
    ]
    return WinRates(list(order), rates, battles)
