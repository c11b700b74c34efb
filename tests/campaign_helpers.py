"""Fixtures and helpers of the campaign tests (tests/test_campaign*.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from app.campaigns.sources import Prompt
from app.campaigns.store import create_campaign
from app.extensions import db
from app.models import Assignment, Campaign, CampaignItem
from tests.api_helpers import finish


@pytest.fixture
def campaign_app(app):
    """The in-process app with no campaign left from an earlier test (the `app` fixture
    empties the chat and rater tables, not these)."""
    with app.app_context():
        for model in (Assignment, CampaignItem, Campaign):
            db.session.execute(delete(model))
        db.session.commit()
    return app


def make_campaign(app, name: str = "c", items: int = 3, overlap: int = 1, **options) -> str:
    """A campaign of `items` prompts ("prompt 1", ...); its id."""
    prompts = [Prompt(f"prompt {i + 1}", None, f"test:{i + 1}") for i in range(items)]
    with app.app_context():
        return create_campaign(name, prompts, overlap, **options).id


def next_item(client, campaign_id: str):
    """POST next: the JSON body, or None for 204."""
    response = client.post(f"/api/campaigns/{campaign_id}/next", json={})
    assert response.status_code in (200, 204), response.get_data(as_text=True)
    return response.get_json() if response.status_code == 200 else None


def finish_pair(app, tid: str) -> None:
    """Play the worker: both answers of the turn done."""
    finish(app, tid, "a", "answer A")
    finish(app, tid, "b", "answer B")


def vote(client, tid: str, choice: str = "a"):
    return client.post(f"/api/turns/{tid}/feedback", json={"choice": choice})


def age_assignments(app, seconds: float) -> None:
    """Make every assignment `seconds` older, as if that much time had passed."""
    with app.app_context():
        for assignment in db.session.scalars(select(Assignment)):
            db.session.execute(
                update(Assignment)
                .where(Assignment.id == assignment.id)
                .values(assigned_at=assignment.assigned_at - timedelta(seconds=seconds))
            )
        db.session.commit()
