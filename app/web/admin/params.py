"""Query parameters of the admin calls, read as the CLI reads its options."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import request
from flask_babel import gettext as _

from app.errors import ApiError

_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(422, "invalid_value", f"{name}: {message}")


def flag(name: str) -> bool:
    """A yes/no parameter: 1, true, yes, on (or 0, false, no, off, absent)."""
    value = request.args.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _invalid(name, _("must be 1 or 0"))


def integer(name: str, default: int, low: int, high: int) -> int:
    """A whole-number parameter within [low, high]."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid(name, _("must be a whole number")) from None
    if not low <= value <= high:
        raise _invalid(name, _("must be between %(low)s and %(high)s", low=low, high=high))
    return value


def text(name: str) -> str | None:
    """A text parameter; None when absent or blank."""
    value = request.args.get(name, "").strip()
    return value or None


def moment(name: str) -> datetime | None:
    """An ISO 8601 date or date-time in UTC (UTC when it has no offset), as the CLI's
    --since and --until read it."""
    raw = text(name)
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _invalid(
            name, _("%(raw)s is not an ISO 8601 date or date-time", raw=repr(raw))
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
