"""What the votes say: totals, vote rate, position bias and a Bradley-Terry leaderboard."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from app.models import CHOICES, TRIGGERS
from app.stats import queries
from app.stats.leaderboard import LeaderRow, leaderboard

_Z95 = 1.959963984540054


@dataclass(frozen=True)
class TriggerRow:
    """Paired turns and votes of one trigger."""

    trigger: str
    paired_turns: int
    votes: int
    vote_rate: float | None


@dataclass(frozen=True)
class PositionBias:
    """How often slot A wins a decisive vote, with a Wilson 95 % interval."""

    decisive_votes: int
    a_wins: int
    a_share: float | None
    ci95: tuple[float, float] | None


@dataclass
class Stats:
    """Everything `flask preferences stats` reports."""

    votes: int
    paired_turns: int
    vote_rate: float | None
    by_trigger: list[TriggerRow]
    by_choice: dict[str, int]
    position_bias: PositionBias
    leaderboard_by: str  # "endpoint" or "endpoint and sampling setting"
    bootstrap_rounds: int
    leaderboard: list[LeaderRow] = field(default_factory=list)
    same_competitor_votes: int = 0  # both slots from one competitor: no information

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, floats rounded for reading."""
        return _rounded(asdict(self))


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def wilson_interval(successes: int, trials: int, z: float = _Z95) -> tuple[float, float] | None:
    """The Wilson score interval of a binomial proportion (95 % by default)."""
    if trials == 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def position_bias(by_choice: Counter[str]) -> PositionBias:
    """The share of A wins among decisive (a or b) votes."""
    decisive = by_choice["a"] + by_choice["b"]
    return PositionBias(
        decisive,
        by_choice["a"],
        _ratio(by_choice["a"], decisive),
        wilson_interval(by_choice["a"], decisive),
    )


def compute(rounds: int = 1000, seed: int = 0) -> Stats:
    """Read the votes and compute every figure of the report."""
    by_trigger, by_choice = queries.votes_by_trigger(), queries.votes_by_choice()
    paired = queries.paired_turns_by_trigger()
    triggers = [t for t in TRIGGERS if t != "single"]
    triggers += sorted((set(by_trigger) | set(paired)) - set(triggers))
    votes, paired_turns = sum(by_choice.values()), sum(paired.values())
    rows, by, same = leaderboard(queries.matchups(), rounds, seed)
    return Stats(
        votes=votes,
        paired_turns=paired_turns,
        vote_rate=_ratio(votes, paired_turns),
        by_trigger=[
            TriggerRow(t, paired[t], by_trigger[t], _ratio(by_trigger[t], paired[t]))
            for t in triggers
        ],
        by_choice={c: by_choice[c] for c in CHOICES},
        position_bias=position_bias(by_choice),
        leaderboard_by=by,
        bootstrap_rounds=rounds,
        leaderboard=rows,
        same_competitor_votes=same,
    )
