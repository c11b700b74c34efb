"""`--aggregate majority`: one vote per rated turn, the choice more than half its votes made.

A campaign item's turn is voted on by several raters. Aggregated, it gives one record, as
if its raters had cast a single vote: the choice of a strict majority of its (selected)
votes. A turn where no choice has more than half the votes is a split: left out, and
counted. A majority of ties or both-bad is left out (or, for kto, both-bad kept) as a
single such vote would be. A chat turn's one vote is its own majority.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

SPLIT = "split"
MAJORITY = "majority"


def decide(tallies: Iterable[tuple[str, str, int]]) -> dict[str, str]:
    """Per turn, from (turn id, choice, votes) rows: the majority choice, or SPLIT."""
    by_turn: dict[str, Counter[str]] = defaultdict(Counter)
    for turn_id, choice, votes in tallies:
        by_turn[turn_id][choice] += votes
    decided = {}
    for turn_id, counts in by_turn.items():
        choice, votes = counts.most_common(1)[0]
        decided[turn_id] = choice if 2 * votes > counts.total() else SPLIT
    return decided


def by_majority(votes: Iterable[Any], decided: dict[str, str]) -> Iterator[Any]:
    """One vote row per turn, in the order of `votes`: the first that made the majority's
    choice, or for a split the turn's first vote, its choice replaced by SPLIT."""
    seen: set[str] = set()
    for vote in votes:
        if vote.turn_id in seen:
            continue
        choice = decided.get(vote.turn_id, vote.choice)
        if choice == SPLIT:
            seen.add(vote.turn_id)
            yield vote._replace(choice=SPLIT)
        elif vote.choice == choice:
            seen.add(vote.turn_id)
            yield vote
