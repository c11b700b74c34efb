"""Duet: paired streaming chat that collects human preference data."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask

from app import cli, web
from app.extensions import db, migrate, redis_client, sock
from app.process.logs import configure_logging
from app.sqlite import tune_sqlite
from app.streaming import fanout
from config import Config


def create_app(
    settings: dict[str, Any] | None = None, config_class: type[Config] = Config
) -> Flask:
    """Build the Flask app: the one entry point for web, worker and CLI."""
    app = Flask(__name__, instance_path=str(config_class.INSTANCE_PATH))
    app.config.from_object(config_class)
    app.config.update(settings or {})
    config_class.finalise(app.config)
    if not app.testing:
        configure_logging(app.config["LOG_LEVEL"])

    register_extensions(app)
    web.init_app(app)
    cli.init_app(app)
    celery_init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the unbound extension instances to `app`."""
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    sock.init_app(app)
    redis_client.init_app(app)
    fanout.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            tune_sqlite(db.engine)


def celery_init_app(app: Flask) -> Celery:
    """Create the Celery app whose tasks run inside a Flask app context (Flask's pattern)."""

    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    app.extensions["celery"] = celery_app
    return celery_app
