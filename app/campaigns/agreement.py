"""Agreement between raters on shared items: Krippendorff's alpha, percent agreement, and
each rater's agreement with the others.

Alpha is nominal, over the four choices (a, b, tie, both_bad), computed by the
`krippendorff` package from each item's counts of each choice; items with fewer than two
votes carry no pairable values and are left out, as alpha's definition says. Its 95 %
interval is the 2.5th to 97.5th percentile of alpha over bootstrap resamples of the items
(seeded: the same votes give the same interval); a resample in which every vote is the
same choice has no expected disagreement and no alpha, and is dropped.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import krippendorff
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, scoped_session

from app.models import CampaignItem, Feedback
from app.vocabulary import CHOICES

BOOTSTRAP_ROUNDS = 1000
# (item, rater id, choice) of one vote.
Vote = tuple[str, str, str]


def value_counts(votes: Iterable[Vote]) -> np.ndarray:
    """Per item with two or more votes, how many chose each of CHOICES (items x 4)."""
    by_item: dict[str, Counter[str]] = defaultdict(Counter)
    for item, _rater, choice in votes:
        by_item[item][choice] += 1
    rows = [[counts[c] for c in CHOICES] for counts in by_item.values() if counts.total() >= 2]
    return np.array(rows, dtype=float).reshape(-1, len(CHOICES))


def alpha(counts: np.ndarray) -> float | None:
    """Nominal Krippendorff's alpha of `counts` (items x choices); None when no item has two
    votes, or every vote is the same choice (no disagreement to expect: alpha undefined)."""
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) == 0 or np.count_nonzero(pairable.sum(axis=0)) < 2:
        return None
    return float(krippendorff.alpha(value_counts=pairable, level_of_measurement="nominal"))


def alpha_interval(
    counts: np.ndarray, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0
) -> tuple[float, float] | None:
    """The bootstrap 95 % interval of alpha, resampling items; None without enough data."""
    pairable = counts[counts.sum(axis=1) >= 2]
    if len(pairable) < 2 or rounds <= 0 or alpha(pairable) is None:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(rounds):
        value = alpha(pairable[rng.integers(0, len(pairable), len(pairable))])
        if value is not None:
            values.append(value)
    if not values:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def percent_agreement(counts: np.ndarray) -> float | None:
    """The share of pairs of votes on the same item that agree, over every item with two or
    more votes; None when there is none."""
    per_item = counts.sum(axis=1)
    pairs = float((per_item * (per_item - 1)).sum())
    if pairs == 0:
        return None
    return float((counts * (counts - 1)).sum() / pairs)


@dataclass(frozen=True)
class RaterAgreement:
    """One rater against the others."""

    shared_items: int  # items they voted on that someone else voted on too
    agreement: float  # share of (item, other rater) pairs where the other chose the same


def rater_shares(votes: Iterable[Vote]) -> dict[str, RaterAgreement]:
    """Per rater who shares an item with another: how often the others chose the same."""
    by_item: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for item, rater, choice in votes:
        by_item[item].append((rater, choice))
    items: Counter[str] = Counter()
    same: Counter[str] = Counter()
    pairs: Counter[str] = Counter()
    for item_votes in by_item.values():
        for rater, choice in item_votes:
            others = [c for r, c in item_votes if r != rater]
            if others:
                items[rater] += 1
                pairs[rater] += len(others)
                same[rater] += sum(c == choice for c in others)
    return {r: RaterAgreement(items[r], same[r] / pairs[r]) for r in items}


def campaign_votes(
    session: Session | scoped_session[Any], campaign_id: str | None = None
) -> list[Vote]:
    """(item id, rater id, choice) of every vote on a campaign item (of one campaign)."""
    query = select(CampaignItem.id, Feedback.rater_id, Feedback.choice).join(
        Feedback, Feedback.turn_id == CampaignItem.turn_id
    )
    if campaign_id is not None:
        query = query.where(CampaignItem.campaign_id == campaign_id)
    return [(item, rater, choice) for item, rater, choice in session.execute(query)]


def rater_agreement(
    session: Session | scoped_session[Any], campaign_id: str | None = None
) -> dict[str, float | None]:
    """Per rater who voted on a campaign item: the share of (shared item, other rater)
    pairs where the other rater chose the same; None for a rater who shares no item yet.
    The admin area's rater table reads this."""
    votes = campaign_votes(session, campaign_id)
    shares = rater_shares(votes)
    return {rater: (shares[rater].agreement if rater in shares else None) for _, rater, _ in votes}


@dataclass(frozen=True)
class Agreement:
    """A campaign's agreement figures."""

    items_compared: int  # items with two or more votes
    votes_compared: int
    alpha: float | None
    alpha_ci95: tuple[float, float] | None
    percent_agreement: float | None
    bootstrap_rounds: int

    def to_json(self) -> dict:
        """A JSON-ready dict."""
        return {
            "items_compared": self.items_compared,
            "votes_compared": self.votes_compared,
            "alpha": _round(self.alpha),
            "alpha_ci95": [_round(v) for v in self.alpha_ci95] if self.alpha_ci95 else None,
            "percent_agreement": _round(self.percent_agreement),
            "bootstrap_rounds": self.bootstrap_rounds,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def agreement(votes: list[Vote], rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0) -> Agreement:
    """Alpha with its interval, and percent agreement, of `votes`."""
    counts = value_counts(votes)
    return Agreement(
        items_compared=len(counts),
        votes_compared=int(counts.sum()),
        alpha=alpha(counts),
        alpha_ci95=alpha_interval(counts, rounds, seed),
        percent_agreement=percent_agreement(counts),
        bootstrap_rounds=rounds,
    )
