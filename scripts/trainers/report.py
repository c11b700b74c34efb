"""Pass/fail lines for the trainer checks; imported by check_trl.py and check_llamafactory.py."""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable
from pathlib import Path


class Checks:
    """Run named checks, print `PASS name: detail` or `FAIL name: why`, remember failures."""

    def __init__(self, tool: str) -> None:
        self.tool = tool
        self.failed: list[str] = []

    def run(self, name: str, check: Callable[[], str]) -> None:
        """Run `check`; the string it returns is the detail of a pass, an exception a failure."""
        try:
            detail = check()
        except Exception as exc:  # a failed check is reported, and the others still run
            self.failed.append(name)
            print(f"FAIL {self.tool} {name}: {type(exc).__name__}: {exc}", flush=True)
            traceback.print_exc(file=sys.stderr)
        else:
            print(f"PASS {self.tool} {name}: {detail}", flush=True)

    def exit(self) -> None:
        """Exit 1 if any check failed."""
        sys.exit(1 if self.failed else 0)


def lines(path: Path) -> list[dict]:
    """The JSON objects of a JSON Lines file, one a line (no other line break: U+2028 escaped)."""
    text = path.read_text(encoding="utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


def expect(condition: bool, message: str) -> None:
    """Raise AssertionError(message) unless `condition` (assert is gone under python -O)."""
    if not condition:
        raise AssertionError(message)
