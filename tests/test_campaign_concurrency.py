"""Many raters asking for the next item at once: never more than K places on an item.

Each rater is a thread with its own client (cookie) and so its own database session and
connection; they start together at a barrier. On SQLite and on PostgreSQL
(DUET_TEST_DATABASE_URL)."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import func, select

from app.extensions import db
from app.models import Assignment, CampaignItem, Feedback, Turn
from tests.campaign_helpers import (
    finish_pair,
    make_campaign,
    next_item,
    vote,
)

RATERS, ITEMS, OVERLAP = 8, 5, 2


def _run_together(work, count: int) -> list[BaseException]:
    """Run `work(i)` in `count` threads released at once; the errors they raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(i)
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a rater hung"
    return errors


def test_eight_raters_at_once_give_every_item_exactly_k_votes(campaign_app, queued):
    cid = make_campaign(campaign_app, items=ITEMS, overlap=OVERLAP)
    clients = [campaign_app.test_client() for _ in range(RATERS)]
    handed: dict[int, list[str]] = {i: [] for i in range(RATERS)}

    def rate_until_nothing_is_left(i: int) -> None:
        client = clients[i]
        while (body := next_item(client, cid)) is not None:
            tid = body["turn"]["id"]
            assert body["item"]["id"] not in handed[i], "handed the same item twice"
            handed[i].append(body["item"]["id"])
            finish_pair(campaign_app, tid)  # play the worker (idempotent)
            response = vote(client, tid, "ab"[i % 2])
            assert response.status_code == 201, response.get_data(as_text=True)

    errors = _run_together(rate_until_nothing_is_left, RATERS)
    assert not errors, errors
    with campaign_app.app_context():
        per_item = dict(
            db.session.execute(
                select(CampaignItem.id, func.count(Feedback.id))
                .outerjoin(Feedback, Feedback.turn_id == CampaignItem.turn_id)
                .group_by(CampaignItem.id)
            ).all()
        )
        per_rater_and_turn = Counter(
            db.session.execute(select(Feedback.turn_id, Feedback.rater_id)).all()
        )
        turns = db.session.scalar(select(func.count(Turn.id)))
        assignments = db.session.scalar(select(func.count(Assignment.id)))
    assert len(per_item) == ITEMS and set(per_item.values()) == {OVERLAP}, per_item
    assert set(per_rater_and_turn.values()) == {1}  # nobody voted twice on an item
    assert turns == ITEMS and len(queued) == 2 * ITEMS  # one pair per item, queued once
    assert assignments == ITEMS * OVERLAP
    assert sum(len(items) for items in handed.values()) == ITEMS * OVERLAP
    for client in clients:  # and now nothing is left for anyone
        assert next_item(client, cid) is None


def test_raters_asking_at_once_never_take_more_than_k_places(campaign_app, queued):
    """Eight raters, one item, K = 3: exactly three get it (the same turn), five get 204."""
    cid = make_campaign(campaign_app, items=1, overlap=3)
    clients = [campaign_app.test_client() for _ in range(RATERS)]
    results: dict[int, str | None] = {}

    def ask(i: int) -> None:
        body = next_item(clients[i], cid)
        results[i] = body["turn"]["id"] if body else None

    assert not _run_together(ask, RATERS)
    got = [tid for tid in results.values() if tid is not None]
    assert len(got) == 3 and len(set(got)) == 1, results
    assert len(queued) == 2
