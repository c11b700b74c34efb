"""An export's options checked and turned into a format and a vote filter, alike for the CLI
(`flask preferences export`) and the admin download (`GET /api/admin/export`), so that the
same options give the same bytes from both."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from flask import current_app
from sqlalchemy import select

from app import vocabulary
from app.export import ExportSummary, export
from app.export.formats import FORMATS, Format
from app.export.majority import MAJORITY
from app.export.query import VoteFilter, iter_votes
from app.export.signal import PAIRWISE, only_first_turns, write_signal
from app.extensions import db
from app.models import Campaign
from app.raters import find_rater

# The triggers a vote's turn can have (a single turn takes no vote).
TRIGGERS = tuple(t for t in vocabulary.TRIGGERS if t != "single")


class ExportOptionError(ValueError):
    """An option the export cannot run with; `option` names it (`--until`), the message why."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(message)
        self.option, self.message = option, message


@dataclass(frozen=True)
class ExportOptions:
    """What an export was asked for, as the CLI's options name it."""

    format_name: str = "trl"
    since: datetime | None = None
    until: datetime | None = None
    endpoint: str | None = None
    trigger: str | None = None
    rater: str | None = None  # a rater's name
    exclude_flagged: bool = False
    unpaired: bool = False
    with_edits: bool = False  # also a pair per corrected answer (pairwise formats)
    first_turns: bool = False  # only votes (and thumbs, edits) on first messages
    campaign: str | None = None  # a campaign's name: only votes on its items
    aggregate: str | None = None  # "majority": one vote per item (app/export/majority.py)


@dataclass
class ExportResult:
    """What an export wrote: the votes' summary, votes left out as later turns, and the
    thumbs, edit and skip lines written after them."""

    summary: ExportSummary
    left_out: Counter[str]
    extra: Counter[str]


def flagged_raters() -> frozenset[str]:
    """The ids of the raters `flask preferences raters` flags, with this app's thresholds."""
    # Imported here: rater quality loads NumPy (through app.stats), which only this needs.
    from app.stats.rater_quality import Thresholds, rater_report

    return rater_report(Thresholds.from_config(current_app.config)).flagged_ids()


def resolve(options: ExportOptions) -> tuple[Format, VoteFilter]:
    """The format and the filter `options` ask for; ExportOptionError when they do not fit."""
    format_name = options.format_name
    if format_name not in FORMATS:
        raise ExportOptionError("--format", f"must be one of {', '.join(FORMATS)}")
    if options.unpaired:
        if format_name != "trl":
            raise ExportOptionError("--unpaired", "only applies to --format trl")
        format_name = "kto"
    if options.trigger is not None and options.trigger not in TRIGGERS:
        raise ExportOptionError("--trigger", f"must be one of {', '.join(TRIGGERS)}")
    if options.with_edits and format_name not in PAIRWISE:
        raise ExportOptionError("--with-edits", f"only applies to --format {', '.join(PAIRWISE)}")
    if options.since and options.until and options.since >= options.until:
        raise ExportOptionError("--until", "must be later than --since")
    rater_id = None
    if options.rater is not None:
        rater = find_rater(options.rater)
        if rater is None:
            raise ExportOptionError(
                "--rater", f"no rater is called {options.rater!r} (`flask raters list`)"
            )
        rater_id = rater.id
    campaign_id = None
    if options.campaign is not None:
        named = select(Campaign.id).where(Campaign.name == options.campaign)
        campaign_id = db.session.scalar(named)
        if campaign_id is None:
            raise ExportOptionError(
                "--campaign", f"no campaign is called {options.campaign!r} (`flask campaigns list`)"
            )
    if options.aggregate not in (None, MAJORITY):
        raise ExportOptionError("--aggregate", f"must be {MAJORITY}")
    if options.aggregate and format_name == "raw":
        raise ExportOptionError("--aggregate", "raw keeps every vote; use another --format")
    excluded = flagged_raters() if options.exclude_flagged else frozenset()
    vote_filter = VoteFilter(
        since=options.since,
        until=options.until,
        endpoint=options.endpoint,
        trigger=options.trigger,
        rater_id=rater_id,
        exclude_raters=excluded,
        campaign_id=campaign_id,
        majority=options.aggregate == MAJORITY,
    )
    return FORMATS[format_name], vote_filter


def write_export(
    fmt: Format,
    vote_filter: VoteFilter,
    options: ExportOptions,
    out: BinaryIO,
    progress: Callable[[int], object] | None = None,
) -> ExportResult:
    """Write the export `resolve(options)` gave to `out`: the votes, then the thumbs, edits
    and skips the format carries. The CLI and the admin download both write through here."""
    votes = iter_votes(vote_filter, everything=fmt.everything)
    left_out: Counter[str] = Counter()
    # closing(): a failed export releases its database cursor at once, not whenever the
    # garbage collector finds the suspended generator.
    with closing(votes):
        chosen = only_first_turns(votes, left_out) if options.first_turns else votes
        summary = export(fmt, chosen, out, progress=progress)
    extra = write_signal(
        fmt, vote_filter, out, with_edits=options.with_edits, first_turns=options.first_turns
    )
    return ExportResult(summary, left_out, Counter(extra))
