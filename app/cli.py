"""`flask preferences ...`: admin commands over the collected feedback."""

from __future__ import annotations

from flask import Flask
from flask.cli import AppGroup

preferences = AppGroup("preferences", help="Export and inspect collected preference data.")


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(preferences)
