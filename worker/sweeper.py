"""A background sweep in each worker process: slots whose worker died end even if nobody looks."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from flask import Flask, current_app
from sqlalchemy import select

from app.extensions import db
from app.models import STREAMING, Response, utcnow
from app.streaming.lifecycle import watch_slots

log = logging.getLogger(__name__)


def sweep_once(limit: int = 500) -> int:
    """Run the watchdog over streaming responses older than a lease; returns how many."""
    lease = timedelta(seconds=current_app.config["SLOT_LEASE_SECONDS"])
    query = (
        select(Response)
        .where(Response.status == STREAMING, Response.queued_at < utcnow() - lease)
        .order_by(Response.queued_at)
        .limit(limit)
    )
    responses = list(db.session.scalars(query))
    if responses:
        watch_slots(responses)
    db.session.rollback()
    return len(responses)


class Sweeper(threading.Thread):
    """Calls sweep_once every SLOT_SWEEP_INTERVAL seconds until stopped."""

    def __init__(self, app: Flask) -> None:
        super().__init__(daemon=True, name="slot-sweeper")
        self.app = app
        self.stopped = threading.Event()

    def run(self) -> None:
        """Sweep until stop() is called; a failed sweep is logged and retried."""
        interval = self.app.config["SLOT_SWEEP_INTERVAL"]
        while not self.stopped.wait(interval):
            try:
                with self.app.app_context():
                    sweep_once()
            except Exception:
                log.exception("slot sweep failed; retrying in %s s", interval)

    def stop(self) -> None:
        """Ask the thread to finish after its current sweep."""
        self.stopped.set()
