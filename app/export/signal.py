"""Exports of the signal besides votes: thumbs (kto), edit-vs-original pairs (--with-edits)
and, in raw, every rating, edit and skip; and --first-turns, for OpenAI's one-turn DPO.

Votes come from app/export/query.py; these rows are read here, with the same filter (time
window on when they were given, endpoint, trigger, rater, flagged raters left out), after
the votes, oldest first.
"""

from __future__ import annotations

from collections import Counter, namedtuple
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, BinaryIO

from sqlalchemy import Select, select

from app.export.formats import FORMATS, Format, Record, kto_records, llamafactory_kto
from app.export.query import VoteFilter
from app.extensions import db
from app.models import DONE, Edit, Rater, Rating, Response, Skip, Turn
from app.vocabulary import UP

# The formats that take edits as pairs, and those that take thumbs as labelled answers.
PAIRWISE = ("trl", "openai", "sharegpt")
UNPAIRED = ("kto", "kto-llamafactory")
# A vote-like row that the pairwise formats turn into one record: `a` chosen over `b`.
_Pair = namedtuple("_Pair", "choice context a_content b_content a_status b_status")


def first_turn(context: list[dict[str, Any]]) -> bool:
    """Whether a prompt is a conversation's first exchange: no assistant message before it
    (OpenAI's DPO trains on one-turn examples)."""
    return not any(m.get("role") == "assistant" for m in context)


def only_first_turns(votes: Iterable[Any], left_out: Counter[str]) -> Iterator[Any]:
    """The votes on first turns; the others are counted in `left_out["later turn"]`."""
    for vote in votes:
        if first_turn(vote.context):
            yield vote
        else:
            left_out["later turn"] += 1


def _filtered(stmt: Select, created_at, rater_id, vote_filter: VoteFilter) -> Select:
    if vote_filter.since is not None:
        stmt = stmt.where(created_at >= vote_filter.since)
    if vote_filter.until is not None:
        stmt = stmt.where(created_at < vote_filter.until)
    if vote_filter.endpoint is not None:
        stmt = stmt.where(Response.endpoint_name == vote_filter.endpoint)
    if vote_filter.trigger is not None:
        stmt = stmt.where(Turn.trigger == vote_filter.trigger)
    if vote_filter.rater_id is not None:
        stmt = stmt.where(rater_id == vote_filter.rater_id)
    if vote_filter.exclude_raters:
        stmt = stmt.where(rater_id.not_in(sorted(vote_filter.exclude_raters)))
    return stmt


def _rows(stmt: Select) -> Iterator[Any]:
    result = db.session.connection().execution_options(yield_per=1000).execute(stmt)
    try:
        yield from result
    finally:
        result.close()


def thumbs(vote_filter: VoteFilter) -> Iterator[Any]:
    """Thumbs on finished answers: prompt, answer, rating."""
    stmt = (
        select(Turn.context, Response.content, Rating.rating)
        .select_from(Rating)
        .join(Response, Response.id == Rating.response_id)
        .join(Turn, Turn.id == Response.turn_id)
        .where(Response.status == DONE)
        .order_by(Rating.created_at, Rating.id)
    )
    return _rows(_filtered(stmt, Rating.created_at, Rating.rater_id, vote_filter))


def edits(vote_filter: VoteFilter) -> Iterator[Any]:
    """Every edit with the answer it corrects and that answer's prompt."""
    stmt = (
        select(Turn.context, Edit.content, Response.content.label("original"))
        .select_from(Edit)
        .join(Response, Response.id == Edit.response_id)
        .join(Turn, Turn.id == Response.turn_id)
        .where(Response.status == DONE)
        .order_by(Edit.created_at, Edit.id)
    )
    return _rows(_filtered(stmt, Edit.created_at, Edit.rater_id, vote_filter))


def thumbs_records(fmt: Format, rows: Iterable[Any], first_turns: bool) -> Iterator[Record]:
    """kto lines of thumbs: `up` is a good answer (`label` true), `down` a bad one."""
    for context, content, rating in rows:
        if first_turns and not first_turn(context):
            continue
        pair = _Pair("a", context, content, "", DONE, DONE)
        record = kto_records(pair)[0] | {"label": rating == UP}
        yield llamafactory_kto(record) if fmt.name == "kto-llamafactory" else record


def edit_records(fmt: Format, rows: Iterable[Any], first_turns: bool) -> Iterator[Record]:
    """One preference pair per edit: the correction chosen over the original answer."""
    for context, corrected, original in rows:
        if first_turns and not first_turn(context):
            continue
        yield from fmt.records(_Pair("a", context, corrected, original, DONE, DONE))


def _raw(kind: str, row: Any) -> Record:
    data = dict(row._mapping)
    moment: datetime = data["created_at"]  # SQLite's are naive, and UTC
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return {"record": kind, **data, "created_at": utc.isoformat()}


def raw_records(vote_filter: VoteFilter) -> Iterator[Record]:
    """Every rating, edit and skip, with its rater, for `raw` (after the votes' records)."""
    common = (Turn.id.label("turn_id"), Turn.conversation_id, Turn.trigger)
    rating_rows = (
        select(
            Rating.id,
            Rating.response_id,
            *common,
            Response.slot,
            Rating.rater_id,
            Rater.name.label("rater"),
            Rating.rating,
            Rating.tags,
            Rating.reason,
            Rating.created_at,
        )
        .select_from(Rating)
        .join(Response, Response.id == Rating.response_id)
        .join(Turn, Turn.id == Response.turn_id)
        .join(Rater, Rater.id == Rating.rater_id)
        .order_by(Rating.created_at, Rating.id)
    )
    for row in _rows(_filtered(rating_rows, Rating.created_at, Rating.rater_id, vote_filter)):
        yield _raw("rating", row)
    edit_rows = (
        select(
            Edit.id,
            Edit.response_id,
            *common,
            Response.slot,
            Edit.rater_id,
            Rater.name.label("rater"),
            Response.content.label("original"),
            Edit.content,
            Edit.created_at,
        )
        .select_from(Edit)
        .join(Response, Response.id == Edit.response_id)
        .join(Turn, Turn.id == Response.turn_id)
        .join(Rater, Rater.id == Edit.rater_id)
        .order_by(Edit.created_at, Edit.id)
    )
    for row in _rows(_filtered(edit_rows, Edit.created_at, Edit.rater_id, vote_filter)):
        yield _raw("edit", row)
    skip_rows = (
        select(
            Skip.id, *common, Skip.rater_id, Rater.name.label("rater"), Skip.reason, Skip.created_at
        )
        .select_from(Skip)
        .join(Turn, Turn.id == Skip.turn_id)
        .join(Rater, Rater.id == Skip.rater_id)
        .order_by(Skip.created_at, Skip.id)
    )
    # A skip is of a turn, not of a response: the endpoint filter does not apply to it.
    skip_filter = replace(vote_filter, endpoint=None)
    skip_rows = _filtered(skip_rows, Skip.created_at, Skip.rater_id, skip_filter)
    for row in _rows(skip_rows):
        yield _raw("skip", row)


def signal_records(
    fmt: Format, vote_filter: VoteFilter, *, with_edits: bool = False, first_turns: bool = False
) -> Iterator[tuple[str, Record]]:
    """(kind, record) of everything besides votes that `fmt` takes, with these options."""
    if fmt.name in UNPAIRED:
        for record in thumbs_records(fmt, thumbs(vote_filter), first_turns):
            yield "thumbs", record
    if with_edits and fmt.name in PAIRWISE:
        for record in edit_records(fmt, edits(vote_filter), first_turns):
            yield "edit pairs", record
    if fmt.name == "raw":
        for record in raw_records(vote_filter):
            yield record["record"] + "s", record


def write_signal(
    fmt: Format,
    vote_filter: VoteFilter,
    out: BinaryIO,
    *,
    with_edits: bool = False,
    first_turns: bool = False,
) -> Counter[str]:
    """Write the signal records after the votes' (same JSON lines); how many of each kind."""
    from app.export import json_line  # the package imports this module's callers

    written: Counter[str] = Counter()
    for kind, record in signal_records(
        fmt, vote_filter, with_edits=with_edits, first_turns=first_turns
    ):
        out.write(json_line(record))
        written[kind] += 1
    return written


__all__ = ["FORMATS", "only_first_turns", "signal_records", "write_signal"]
