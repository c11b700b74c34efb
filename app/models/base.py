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
