"""The Celery entry point: `celery -A worker.celery_app worker`."""

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


@worker_shutdown.connect
def _stop_sweeper(**_: object) -> None:
    _sweeper.stop()
