"""Duet: paired streaming chat that collects human preference data."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask

from config import Config


def create_app(settings: dict[str, Any] | None = None, config_class: type = Config) -> Flask:
    """Build the Flask app: the one entry point for web, worker and CLI."""
    app = Flask(__name__, instance_path=str(config_class.INSTANCE_PATH))
    app.config.from_object(config_class)
    app.config.update(settings or {})
    config_class.finalise(app.config)
    if not app.testing:
        from app.logs import configure_logging

        configure_logging(app.config["LOG_LEVEL"])

    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_errors(app)
    celery_init_app(app)
    return app


def register_extensions(app: Flask) -> None:
    """Bind the unbound extension instances to `app`."""
    from app.extensions import db, migrate, redis_client, sock

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config["MIGRATIONS_DIR"]))
    sock.init_app(app)
    redis_client.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        from app.sqlite import tune_sqlite

        with app.app_context():
            tune_sqlite(db.engine)


def register_security(app: Flask) -> None:
    """Origin checks, rate limits and security headers."""
    from app import security

    security.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Attach the HTTP API, the websocket relay, health check, page and CLI."""
    from app import cli, openapi, pages, ws
    from app.api import bp as api_bp

    app.register_blueprint(api_bp)
    app.register_blueprint(ws.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(openapi.bp)
    cli.init_app(app)


def register_errors(app: Flask) -> None:
    """Answer every error as JSON on the API, never as a traceback."""
    from app import errors

    errors.init_app(app)


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
