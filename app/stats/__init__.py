"""What the votes say: totals, vote rate, position bias, a Bradley-Terry leaderboard (plain and
length-controlled), head-to-head win rates and how much length wins."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from app.models import CHOICES, TRIGGERS
from app.stats import queries
from app.stats.leaderboard import LeaderRow, leaderboard, ranks_settings
from app.stats.verbosity import LengthControl, LengthRatio, verbosity
from app.stats.win_rates import WinRates, win_rate_matrix

_Z95 = 1.959963984540054
# The trigger of a re-rolled pair, one of TRIGGERS (app/vocabulary.py).
REROLL = "reroll"
assert REROLL in TRIGGERS


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
    # Re-roll votes are biased by selection (the user disliked the original answer, which
    # sits in slot A): left out of position bias, ratings, win rates and the rest unless asked.
    include_reroll: bool = False
    reroll_votes_left_out: int = 0
    win_rates: WinRates = field(default_factory=WinRates)
    length_control: LengthControl = field(default_factory=LengthControl)
    length_ratio: LengthRatio = field(default_factory=lambda: LengthRatio(0, None, None, None))

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, floats rounded for reading."""
        return rounded(asdict(self))


def rounded(value: Any) -> Any:
    """`value` with every float in it rounded to 4 places, for JSON."""
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
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


def compute(rounds: int = 1000, seed: int = 0, include_reroll: bool = False) -> Stats:
    """Read the votes and compute every figure of the report; re-roll votes count in the
    totals, and in the rest only with `include_reroll`."""
    by_trigger, by_choice = queries.votes_by_trigger(), queries.votes_by_choice()
    paired = queries.paired_turns_by_trigger()
    triggers = [t for t in TRIGGERS if t != "single"]
    triggers += sorted((set(by_trigger) | set(paired)) - set(triggers))
    votes, paired_turns = sum(by_choice.values()), sum(paired.values())
    exclude = () if include_reroll else (REROLL,)
    matchups = queries.matchups(exclude)
    rows, by, same = leaderboard(matchups, rounds, seed)
    by_setting = ranks_settings(matchups)
    rated = [row.competitor for row in rows if row.rating is not None]
    control, ratio = verbosity(queries.styled_votes(exclude), rows, by_setting)
    return Stats(
        votes=votes,
        paired_turns=paired_turns,
        vote_rate=_ratio(votes, paired_turns),
        by_trigger=[
            TriggerRow(t, paired[t], by_trigger[t], _ratio(by_trigger[t], paired[t]))
            for t in triggers
        ],
        by_choice={c: by_choice[c] for c in CHOICES},
        position_bias=position_bias(queries.votes_by_choice(exclude) if exclude else by_choice),
        leaderboard_by=by,
        bootstrap_rounds=rounds,
        leaderboard=rows,
        same_competitor_votes=same,
        include_reroll=include_reroll,
        reroll_votes_left_out=0 if include_reroll else by_trigger[REROLL],
        win_rates=win_rate_matrix(matchups, by_setting, rated),
        length_control=control,
        length_ratio=ratio,
    )
