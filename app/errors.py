"""Errors a client caused or can act on: a status, a machine code and a human message."""

from __future__ import annotations


class ApiError(Exception):
    """An error the client caused or can act on, answered as JSON with `status`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found(what: str = "conversation or turn") -> ApiError:
    """The answer for anything unknown or belonging to another client."""
    return ApiError(404, "not_found", f"No such {what}.")
