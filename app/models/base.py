"""What every table's rows share: random ids and timezone-aware UTC timestamps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


def new_id() -> str:
    """A random, unguessable id for rows the client can address."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """The current time in UTC, timezone-aware."""
    return datetime.now(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """`moment` in UTC; naive values (as SQLite returns them) are taken to be UTC already."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
