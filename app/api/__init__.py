"""The JSON HTTP API: conversations, turns, feedback."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from app.api import conversations, turns  # noqa: E402,F401  (routes register on bp)
