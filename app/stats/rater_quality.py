"""Rater quality you can act on: how each rater votes, and flags for votes that look like noise.

Per rater: votes, thumbs ratings and skips; how long after both answers were done they voted
(and per 100 words of answer); the share of votes cast faster than anyone reads; position
bias (share of A among A/B votes, with a Wilson 95 % interval); the tie/both-bad share; and
agreement with other raters on items they both voted on. Each measure has a flag, raised
only on enough votes (`Thresholds.min_votes`), so that a new rater is not flagged by chance.
`flask preferences export --exclude-flagged` leaves the flagged raters' votes out.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from app.models import Rating, Skip
from app.stats import PositionBias, position_bias, rounded
from app.stats import rater_votes as data
from app.stats.rater_votes import TimedVote
from app.vocabulary import BOTH_BAD, TIE

# Flags, in the order they are listed.
POSITION_BIAS, TOO_FAST, ALWAYS_TIE, LOW_AGREEMENT = (
    "position_bias",
    "too_fast",
    "always_tie",
    "low_agreement",
)
# Re-roll pairs keep the disliked original in slot A: they say nothing of a rater's side.
_REROLL = "reroll"


@dataclass(frozen=True)
class Thresholds:
    """When a measure raises its flag (settings RATER_FLAG_* and READING_FLOOR_*, config.py)."""

    reading_words_per_second: float = 15.0  # faster than this, both answers were not read
    min_votes: int = 20  # fewer votes (or shared items) than this: no flag
    fast_share: float = 0.3  # too_fast: at least this share of timed votes beat the floor
    tie_share: float = 0.6  # always_tie: at least this share of votes are tie or both-bad
    min_agreement: float = 0.5  # low_agreement: agreeing less often than this

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Thresholds:
        """The thresholds a running app is configured with."""
        return cls(
            reading_words_per_second=config["READING_FLOOR_WORDS_PER_SECOND"],
            min_votes=config["RATER_FLAG_MIN_VOTES"],
            fast_share=config["RATER_FLAG_FAST_SHARE"],
            tie_share=config["RATER_FLAG_TIE_SHARE"],
            min_agreement=config["RATER_FLAG_MIN_AGREEMENT"],
        )


@dataclass
class RaterQuality:
    """One rater's votes and how they look."""

    id: str
    name: str
    role: str
    kind: str
    disabled: bool
    votes: int = 0
    ratings: int = 0
    skips: int = 0
    timed_votes: int = 0  # votes whose answers' finish times are known
    median_seconds_to_vote: float | None = None  # from both answers done to the vote
    median_seconds_per_100_words: float | None = None
    fast_votes: int = 0  # cast sooner than the answers' words at the reading floor
    fast_share: float | None = None
    position_bias: PositionBias = field(default_factory=lambda: position_bias(Counter()))
    tie_or_both_bad: int = 0
    tie_share: float | None = None
    shared_items: int = 0  # votes on items other raters voted on too
    agreement: float | None = None  # share of those where another rater chose the same
    flags: list[str] = field(default_factory=list)


@dataclass
class RaterReport:
    """Every rater's quality, and the thresholds the flags were raised at."""

    raters: list[RaterQuality]
    thresholds: Thresholds

    def flagged_ids(self) -> frozenset[str]:
        """The raters with at least one flag."""
        return frozenset(r.id for r in self.raters if r.flags)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, floats rounded for reading."""
        return rounded(
            {
                "raters": [asdict(r) for r in self.raters],
                "flagged": sum(1 for r in self.raters if r.flags),
                "thresholds": asdict(self.thresholds),
            }
        )


def _timing(votes: list[TimedVote], floor: float) -> tuple[list[float], list[float], int]:
    """Seconds from both done to the vote, the same per 100 words, and how many were fast."""
    seconds, per_100, fast = [], [], 0
    for vote in votes:
        if vote.voted_at is None or vote.both_done_at is None:
            continue
        waited = (vote.voted_at - vote.both_done_at).total_seconds()
        seconds.append(waited)
        if vote.words:
            per_100.append(waited * 100.0 / vote.words)
        # Reading starts with the first tokens (people read while the answers stream), so
        # the floor is measured from when both had begun to show.
        shown = vote.both_shown_at or vote.both_done_at
        if (vote.voted_at - shown).total_seconds() < vote.words / floor:
            fast += 1
    return seconds, per_100, fast


def _agreement(shared: Iterable[tuple[str, str, str]]) -> dict[str, tuple[int, float]]:
    """Per rater: items shared with others, and the share of (item, other rater) pairs where
    the other chose the same."""
    by_item: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for turn_id, rater_id, choice in shared:
        by_item[turn_id].append((rater_id, choice))
    items: Counter[str] = Counter()
    same: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for votes in by_item.values():
        for rater_id, choice in votes:
            others = [c for r, c in votes if r != rater_id]
            if not others:
                continue
            items[rater_id] += 1
            pairs[rater_id] += len(others)
            same[rater_id] += sum(c == choice for c in others)
    return {r: (items[r], same[r] / pairs[r]) for r in items}


def assess(
    rater: RaterQuality,
    votes: list[TimedVote],
    agreement: tuple[int, float] | None,
    limits: Thresholds,
) -> RaterQuality:
    """Fill `rater`'s measures from their votes, and raise the flags they call for."""
    rater.votes = len(votes)
    seconds, per_100, rater.fast_votes = _timing(votes, limits.reading_words_per_second)
    rater.timed_votes = len(seconds)
    rater.median_seconds_to_vote = statistics.median(seconds) if seconds else None
    rater.median_seconds_per_100_words = statistics.median(per_100) if per_100 else None
    rater.fast_share = rater.fast_votes / len(seconds) if seconds else None
    rater.position_bias = position_bias(Counter(v.choice for v in votes if v.trigger != _REROLL))
    rater.tie_or_both_bad = sum(v.choice in (TIE, BOTH_BAD) for v in votes)
    rater.tie_share = rater.tie_or_both_bad / len(votes) if votes else None
    if agreement is not None:
        rater.shared_items, rater.agreement = agreement

    bias = rater.position_bias
    enough = limits.min_votes
    if bias.decisive_votes >= enough and bias.ci95 and not bias.ci95[0] <= 0.5 <= bias.ci95[1]:
        rater.flags.append(POSITION_BIAS)
    if rater.timed_votes >= enough and (rater.fast_share or 0.0) >= limits.fast_share:
        rater.flags.append(TOO_FAST)
    if rater.votes >= enough and (rater.tie_share or 0.0) >= limits.tie_share:
        rater.flags.append(ALWAYS_TIE)
    if (
        rater.shared_items >= enough
        and rater.agreement is not None
        and rater.agreement < limits.min_agreement
    ):
        rater.flags.append(LOW_AGREEMENT)
    return rater


def rater_report(limits: Thresholds) -> RaterReport:
    """Read every vote and rater, and assess each rater."""
    by_rater: dict[str, list[TimedVote]] = defaultdict(list)
    for vote in data.timed_votes():
        by_rater[vote.rater_id].append(vote)
    agreement = _agreement(data.shared_votes())
    ratings, skips = data.counts_by_rater(Rating), data.counts_by_rater(Skip)
    report = []
    for rater in data.raters_to_report():
        quality = RaterQuality(rater.id, rater.name, rater.role, rater.kind, rater.disabled)
        quality.ratings, quality.skips = ratings[rater.id], skips[rater.id]
        report.append(assess(quality, by_rater.get(rater.id, []), agreement.get(rater.id), limits))
    report.sort(key=lambda r: (-r.votes, r.name))
    return RaterReport(report, limits)
