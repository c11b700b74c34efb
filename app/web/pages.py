"""The single page of the UI."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from app import vocabulary
from app.raters import auth_mode, current_rater, named_mode
from app.vocabulary import ANONYMOUS
from app.web.i18n import translated_setting
from config import DEFAULT_MODEL_ENDPOINTS

bp = Blueprint("pages", __name__)


def page_settings() -> dict[str, Any]:
    """What the page needs to know besides the vocabulary: the data-use notice, the tags a
    vote or rating may carry, how long a vote stays explainable, and who is signed in (an
    anonymous browser is nobody to show)."""
    config = current_app.config
    rater = current_rater(create=not named_mode())
    signed_in = rater is not None and rater.kind != ANONYMOUS
    return {
        "data_notice": translated_setting(config["DATA_NOTICE"]),
        "reason_tags": list(config["REASON_TAGS"]),
        "feedback_edit_seconds": config["FEEDBACK_EDIT_SECONDS"],
        "auth_mode": auth_mode(),
        "rater": {"name": rater.name, "role": rater.role} if signed_in and rater else None,
    }


@bp.get("/")
def index():
    """The chat UI; hands the browser its rater cookie, the allowed values and its settings
    (as data attributes of <html>: the page keeps no inline script)."""
    demo_model = current_app.config["MODEL_ENDPOINTS"] == DEFAULT_MODEL_ENDPOINTS
    return render_template(
        "index.html",
        demo_model=demo_model,
        vocabulary=vocabulary.as_json(),
        settings=page_settings(),
    )
