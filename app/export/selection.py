"""An export's options checked and turned into a format and a vote filter, alike for the CLI
(`flask preferences export`) and the admin download (`GET /api/admin/export`), so that the
same options give the same bytes from both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app

from app import vocabulary
from app.export.formats import FORMATS, Format
from app.export.query import VoteFilter
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
    excluded = flagged_raters() if options.exclude_flagged else frozenset()
    vote_filter = VoteFilter(
        since=options.since,
        until=options.until,
        endpoint=options.endpoint,
        trigger=options.trigger,
        rater_id=rater_id,
        exclude_raters=excluded,
    )
    return FORMATS[format_name], vote_filter
