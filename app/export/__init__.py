"""Turning collected votes into training data: JSON lines in TRL, OpenAI, ShareGPT, KTO or raw form."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlalchemy import Row

from app.export.formats import BOTH_BAD, FAILED, FORMATS, TIE, Format
from app.export.query import VoteFilter, count_votes, iter_votes

__all__ = ["FORMATS", "ExportSummary", "VoteFilter", "count_votes", "export", "iter_votes"]

# Lines are written, and progress reported, this many votes at a time.
_CHUNK = 1000


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
            f"{self.skipped[reason]:,} {reason}"
            for reason in (TIE, BOTH_BAD, FAILED)
            if self.skipped[reason]
        )
        left_out = f"skipped {total:,} votes ({reasons})" if total else "skipped none"
        return f"Wrote {made} ({self.format}) to {where}; {left_out}."


def export(
    fmt: Format,
    votes: Iterable[Row],
    out: BinaryIO,
    progress: Callable[[int], object] | None = None,
) -> ExportSummary:
    """Write `votes` to `out` as JSON lines in format `fmt`; `progress(n)` after every n votes."""
    summary = ExportSummary(fmt.name)
    lines: list[str] = []
    seen = 0
    for vote in votes:
        seen += 1
        reason = fmt.skip_reason(vote)
        if reason is not None:
            summary.skipped[reason] += 1
        else:
            summary.votes += 1
            for record in fmt.records(vote):
                lines.append(json.dumps(record, ensure_ascii=False))
        if seen == _CHUNK:
            _flush(lines, out, summary)
            if progress is not None:
                progress(seen)
            seen = 0
    _flush(lines, out, summary)
    if progress is not None and seen:
        progress(seen)
    return summary


def _flush(lines: list[str], out: BinaryIO, summary: ExportSummary) -> None:
    if lines:
        out.write(("\n".join(lines) + "\n").encode("utf-8"))
        summary.records += len(lines)
        lines.clear()
