"""Writing a file atomically: a temporary file beside it, renamed when complete (exports, plots)."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

_BUFFER = 1 << 20


@contextlib.contextmanager
def atomic_file(path: Path) -> Iterator[BinaryIO]:
    """A binary file that appears under `path` only once the block completes.

    Until then the data goes to a hidden temporary file in the same folder; on any
    error or interruption that file is removed and `path` keeps what it held before.
    """
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    # The file is created inside the try, so even a signal that lands while it is
    # being created is followed by its removal.
    try:
        with open(temporary, "xb", buffering=_BUFFER) as file:
            yield file
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
    _fsync_folder(path.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
