"""Where an export goes: standard output, or a file written atomically."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from app.process.files import atomic_file


@contextlib.contextmanager
def open_output(destination: str, stdout: BinaryIO) -> Iterator[BinaryIO]:
    """`stdout` for "-", else an atomic file at `destination`."""
    if destination == "-":
        yield stdout
        stdout.flush()
        return
    with atomic_file(Path(destination)) as file:
        yield file
