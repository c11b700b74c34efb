"""Queueing a slot's generation for a worker, by task name: the web side never imports `worker`."""

from __future__ import annotations

from collections.abc import Iterable

from flask import current_app

from app.models import Response

# The name `worker/tasks.py` registers its generation task under.
GENERATE_TASK = "duet.generate"


def enqueue(responses: Iterable[Response]) -> None:
    """One Celery task per slot, so the two slots of a pair run at the same time."""
    celery = current_app.extensions["celery"]
    for response in responses:
        celery.send_task(GENERATE_TASK, args=(response.id,), ignore_result=True)
