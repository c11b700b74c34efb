"""What the statistics are computed from: counts aggregated in the database."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, and_, cast, func, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import DONE, Feedback, Response, Turn
from app.vocabulary import BOTH_BAD


@dataclass(frozen=True)
class Side:
    """What answered in one slot: an endpoint and its sampling settings."""

    endpoint: str
    params: str  # canonical JSON, keys sorted

    def settings(self) -> dict[str, Any]:
        """The sampling settings as a dict."""
        return json.loads(self.params)


def _canonical(params_text: str | None) -> str:
    try:
        params = json.loads(params_text) if params_text else {}
    except ValueError:
        params = {"unparsed": params_text}
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def votes_by_trigger() -> Counter[str]:
    """Votes per turn trigger."""
    stmt = (
        select(Turn.trigger, func.count(Feedback.id))
        .join(Turn, Feedback.turn_id == Turn.id)
        .group_by(Turn.trigger)
    )
    return Counter(dict(db.session.execute(stmt).all()))


def votes_by_choice(exclude: Collection[str] = ()) -> Counter[str]:
    """Votes per choice: a, b, tie, both_bad; none on turns of the `exclude` triggers."""
    stmt = select(Feedback.choice, func.count(Feedback.id)).group_by(Feedback.choice)
    if exclude:
        stmt = stmt.join(Turn, Feedback.turn_id == Turn.id).where(Turn.trigger.not_in(exclude))
    return Counter(dict(db.session.execute(stmt).all()))


def paired_turns_by_trigger() -> Counter[str]:
    """Turns with two responses, per trigger."""
    stmt = (
        select(Turn.trigger, func.count(Turn.id))
        .join(Response, and_(Response.turn_id == Turn.id, Response.slot == "b"))
        .group_by(Turn.trigger)
    )
    return Counter(dict(db.session.execute(stmt).all()))


def matchups(exclude: Collection[str] = ()) -> Counter[tuple[Side, Side, str]]:
    """How often each (slot a, slot b, choice) combination was voted, on finished pairs;
    none on turns of the `exclude` triggers."""
    ra, rb = aliased(Response, name="response_a"), aliased(Response, name="response_b")
    columns = (
        ra.endpoint_name.label("a_endpoint"),
        cast(ra.params, Text).label("a_params"),
        rb.endpoint_name.label("b_endpoint"),
        cast(rb.params, Text).label("b_params"),
        Feedback.choice,
    )
    stmt = (
        select(*columns, func.count(Feedback.id))
        .join(ra, and_(ra.turn_id == Feedback.turn_id, ra.slot == "a"))
        .join(rb, and_(rb.turn_id == Feedback.turn_id, rb.slot == "b"))
        # As in the export, a vote counts only if both responses finished.
        .where(ra.status == DONE, rb.status == DONE)
        .group_by(*columns)
    )
    if exclude:
        stmt = stmt.join(Turn, Feedback.turn_id == Turn.id).where(Turn.trigger.not_in(exclude))
    counts: Counter[tuple[Side, Side, str]] = Counter()
    # The same settings may be stored as differently spelled JSON; merge them here.
    for a_name, a_params, b_name, b_params, choice, n in db.session.execute(stmt):
        key = (Side(a_name, _canonical(a_params)), Side(b_name, _canonical(b_params)), choice)
        counts[key] += n
    return counts


def styled_votes(exclude: Collection[str] = ()) -> Iterator[tuple[Side, Side, str, str, str]]:
    """(slot a, slot b, choice, a's text, b's text) of each a, b or tie vote on a finished
    pair, none on turns of the `exclude` triggers; streamed, for the style features."""
    ra, rb = aliased(Response, name="response_a"), aliased(Response, name="response_b")
    stmt = (
        select(
            ra.endpoint_name,
            cast(ra.params, Text),
            rb.endpoint_name,
            cast(rb.params, Text),
            Feedback.choice,
            ra.content,
            rb.content,
        )
        .select_from(Feedback)
        .join(ra, and_(ra.turn_id == Feedback.turn_id, ra.slot == "a"))
        .join(rb, and_(rb.turn_id == Feedback.turn_id, rb.slot == "b"))
        .where(ra.status == DONE, rb.status == DONE, Feedback.choice != BOTH_BAD)
        .order_by(Feedback.id)
    )
    if exclude:
        stmt = stmt.join(Turn, Feedback.turn_id == Turn.id).where(Turn.trigger.not_in(exclude))
    result = db.session.connection().execution_options(yield_per=1000).execute(stmt)
    try:
        for a_name, a_params, b_name, b_params, choice, a_text, b_text in result:
            a = Side(a_name, _canonical(a_params))
            yield a, Side(b_name, _canonical(b_params)), choice, a_text, b_text
    finally:
        result.close()
