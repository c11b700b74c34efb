"""The Celery entry point: `celery -A worker.celery_app worker`."""

import gc

from celery.signals import worker_ready, worker_shutdown

from app import create_app
from worker.sweeper import Sweeper

flask_app = create_app()
celery_app = flask_app.extensions["celery"]

import worker.tasks  # noqa: E402,F401  (registers the tasks)

_sweeper = Sweeper(flask_app)


@worker_ready.connect
def _start_sweeper(**_: object) -> None:
    _sweeper.start()


@worker_ready.connect
def _freeze_startup_heap(**_: object) -> None:
    # As in wsgi.py: the start-up heap out of the collector's sight, so a full collection
    # no longer pauses every generation in the process for 40-100 ms.
    gc.freeze()


@worker_shutdown.connect
def _stop_sweeper(**_: object) -> None:
    _sweeper.stop()
