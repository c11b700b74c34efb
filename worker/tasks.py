"""Celery tasks: thin wrappers that hand ids to plain functions."""

from celery import shared_task

from app.streaming.enqueue import GENERATE_TASK
from worker.generation import generate_response


@shared_task(name=GENERATE_TASK, ignore_result=True)
def generate(response_id: str) -> None:
    """Generate one slot's response, streaming it to Redis and saving it."""
    generate_response(response_id)
