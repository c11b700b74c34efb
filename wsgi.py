"""The WSGI entry point: `gunicorn wsgi:app`."""

import gc

from app import create_app

app = create_app()
# The start-up heap (Flask, SQLAlchemy, Celery: ~120k objects) lives as long as the process.
# Out of the collector's sight, a full collection takes microseconds instead of 40-100 ms,
# a pause that held up every stream this process relays (docs/architecture.md, Performance).
gc.freeze()
