"""Collected votes as training data: JSON lines in TRL, OpenAI, ShareGPT, KTO or raw form."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

import orjson

from app.export.formats import FAILED, FORMATS, Format
from app.export.majority import SPLIT
from app.export.query import Vote, VoteFilter, count_votes, iter_votes
from app.vocabulary import BOTH_BAD, TIE

__all__ = ["FORMATS", "ExportSummary", "VoteFilter", "count_votes", "export", "iter_votes"]

# Characters JSON may carry raw but that str.splitlines() (and so some JSON Lines readers)
# takes for line ends: U+2028, U+2029 and U+0085, in UTF-8. They can only stand inside a
# string there, where their \u escapes read back the same. UTF-8 never has these bytes
# inside another character, so replacing them is safe.
_LINE_BREAKS = (
    (b"\xe2\x80\xa8", b"\\u2028"),
    (b"\xe2\x80\xa9", b"\\u2029"),
    (b"\xc2\x85", b"\\u0085"),
)

# Progress is reported every this many votes.
_CHUNK = 1000
# How the summary names a reason to skip: one, several.
_REASONS = {
    TIE: ("tie", "ties"),
    BOTH_BAD: ("both-bad", "both-bad"),
    FAILED: ("with a failed response", "with a failed response"),
    SPLIT: ("split (no majority)", "split (no majority)"),
}


@dataclass
class ExportSummary:
    """What an export wrote and what it left out, and why."""

    format: str
    votes: int = 0
    records: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def line(self, destination: str) -> str:
        """The one-line report printed after an export."""
        where = "stdout" if destination == "-" else destination
        made = f"{self.records:,} records"
        if self.records != self.votes:
            made += f" from {self.votes:,} votes"
        total = sum(self.skipped.values())
        reasons = ", ".join(
            f"{n:,} {_REASONS[reason][n != 1]}"
            for reason in (TIE, BOTH_BAD, FAILED, SPLIT)
            if (n := self.skipped[reason])
        )
        left_out = f"skipped {total:,} votes ({reasons})" if total else "skipped none"
        return f"Wrote {made} ({self.format}) to {where}; {left_out}."


def export(
    fmt: Format,
    votes: Iterable[Vote],
    out: BinaryIO,
    progress: Callable[[int], object] | None = None,
) -> ExportSummary:
    """Write `votes` to `out` as JSON lines in format `fmt`; `progress(n)` after every n votes."""
    summary = ExportSummary(fmt.name)
    seen = 0
    for vote in votes:
        seen += 1
        reason = fmt.skip_reason(vote)
        if reason is not None:
            summary.skipped[reason] += 1
        else:
            summary.votes += 1
            for record in fmt.records(vote):
                out.write(json_line(record))
                summary.records += 1
        if seen == _CHUNK and progress is not None:
            progress(seen)
            seen = 0
    if progress is not None and seen:
        progress(seen)
    return summary


def json_line(record: object) -> bytes:
    """`record` as one line of JSON, ending in "\\n" and with no other line break in it."""
    line = orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
    if b"\xe2\x80" in line or b"\xc2\x85" in line:  # most lines: no replace() scans
        for raw, escaped in _LINE_BREAKS:
            line = line.replace(raw, escaped)
    return line
