"""What an answer looks like, apart from what it says: its length and its markdown elements.

These are the covariates of FastChat's "style control" (`count_markdown_elements` in
fastchat/serve/monitor/elo_analysis.py): headers, list items and bold spans, counted
outside fenced code blocks, and the length. Length here is in words, not tokens: two
models' tokenizers count the same text differently, words count it alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STYLE_FEATURES = ("length", "headers", "lists", "bold")

_CODE_BLOCK = re.compile(r"```.*?(?:```|\Z)", re.DOTALL)
_HEADER = re.compile(r"^#{1,6}\s", re.MULTILINE)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s", re.MULTILINE)
_BOLD = re.compile(r"\*\*[^*\n]+\*\*|__[^_\n]+__")


@dataclass(frozen=True)
class Style:
    """Length in words and markdown element counts of one answer."""

    length: int
    headers: int
    lists: int
    bold: int

    def values(self) -> tuple[int, int, int, int]:
        """The features in STYLE_FEATURES order."""
        return (self.length, self.headers, self.lists, self.bold)


def words(text: str | None) -> int:
    """How many words `text` has (runs of non-space characters)."""
    return len(text.split()) if text else 0


def style_of(text: str | None) -> Style:
    """The style features of an answer."""
    if not text:
        return Style(0, 0, 0, 0)
    prose = _CODE_BLOCK.sub("", text)
    return Style(
        length=words(text),
        headers=len(_HEADER.findall(prose)),
        lists=len(_LIST_ITEM.findall(prose)),
        bold=len(_BOLD.findall(prose)),
    )
