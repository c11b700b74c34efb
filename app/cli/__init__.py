"""The admin commands: `flask preferences ...`, `flask raters ...`, `flask campaigns ...`."""

from __future__ import annotations

from flask import Flask

from app.cli.campaigns import campaigns
from app.cli.preferences import preferences
from app.cli.raters import raters


def init_app(app: Flask) -> None:
    """Register the command groups."""
    app.cli.add_command(preferences)
    app.cli.add_command(raters)
    app.cli.add_command(campaigns)
