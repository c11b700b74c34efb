"""The single page of the UI, and the health check."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text

from app.extensions import db, redis_client
from app.identity import client_id
from config import DEFAULT_MODEL_ENDPOINTS

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    """The chat UI; hands the browser its client cookie."""
    client_id()
    demo_model = current_app.config["MODEL_ENDPOINTS"] == DEFAULT_MODEL_ENDPOINTS
    return render_template("index.html", demo_model=demo_model)


@bp.get("/healthz")
def healthz():
    """200 when the database and Redis answer, 503 (saying which) when one does not."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    try:
        redis_client.get().ping()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"unreachable: {type(exc).__name__}"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", **checks), 200 if healthy else 503
