"""Unbound extension instances; create_app binds them."""

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from redis import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy.orm import DeclarativeBase

from app.fanout import Fanout


class Base(DeclarativeBase):
    """Declarative base of Duet's models."""


db = SQLAlchemy(model_class=Base)
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
        # The process's one pub/sub connection. It must not reconnect by itself: messages
        # published while it was away would be missed silently, so a drop is reported to
        # the relays, which follow again and catch up from the buffers.
        subscriber = Redis.from_url(
            app.config["REDIS_URL"],
            decode_responses=True,
            socket_connect_timeout=5,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 0),
        )
        app.extensions["fanout"] = Fanout(subscriber)

    def get(self) -> Redis:
        """The current app's Redis client."""
        return current_app.extensions["redis"]

    def fanout(self) -> Fanout:
        """The current app's shared subscription, which relays follow turns through."""
        return current_app.extensions["fanout"]


redis_client = RedisClient()


def _default_key() -> str:
    from app.security import client_key

    return client_key()


limiter = Limiter(key_func=_default_key)
