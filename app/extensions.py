"""Unbound extension instances; create_app binds them."""

from typing import TYPE_CHECKING

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from redis import Redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    """Declarative base of Duet's models."""


db = SQLAlchemy(model_class=Base)

# Models subclass `Model`, that is db.Model: a class made at run time, which mypy cannot take
# as a base (python/mypy#8603), so it checks them against Base, the class db.Model extends.
if TYPE_CHECKING:
    Model = Base
else:
    Model = db.Model

migrate = Migrate()
sock = Sock()


def commit_written() -> None:
    """Commit, leaving the session's objects loaded instead of expiring them.

    For a request or task that goes on using rows it has just written: their values are
    known, and reading each back after an expiring commit would cost a query.
    """
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def end_reading() -> None:
    """End the session's transaction, as a rollback would, but leave its objects loaded.

    For a long-lived reader, a websocket: it holds no connection while it waits and sees new
    rows on its next read, while a rollback would expire every row it holds, so that each
    later look read them all back to learn what does not change (a response's turn and
    slot). Where it needs a row's news it refreshes it.
    """
    try:
        commit_written()  # nothing was written: this only ends the transaction
    except SQLAlchemyError:
        db.session.rollback()


class RedisClient:
    """The app's Redis connection pool, made by init_app from REDIS_URL."""

    def init_app(self, app: Flask) -> None:
        """Create the pool for `app`."""
        app.extensions["redis"] = Redis.from_url(
            app.config["REDIS_URL"],
            decode_responses=True,
            socket_connect_timeout=5,
            socket_timeout=10,
            health_check_interval=30,
            retry_on_timeout=True,
        )

    def get(self) -> Redis:
        """The current app's Redis client."""
        return current_app.extensions["redis"]


redis_client = RedisClient()

# Every limit names its key (the client, or the address: app/web/security.py); the
# address is only the fallback of a limit that would not.
limiter = Limiter(key_func=get_remote_address)
