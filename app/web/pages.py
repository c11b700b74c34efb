"""The single page of the UI."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from app import vocabulary
from app.web.identity import client_id
from config import DEFAULT_MODEL_ENDPOINTS

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """The chat UI; hands the browser its client cookie and the allowed values."""
    client_id()
    demo_model = current_app.config["MODEL_ENDPOINTS"] == DEFAULT_MODEL_ENDPOINTS
    return render_template("index.html", demo_model=demo_model, vocabulary=vocabulary.as_json())
