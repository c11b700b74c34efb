"""One Redis subscription per web process, fanned out to the sockets that follow a turn.

A socket does not open a pub/sub connection of its own: it asks the process's `Fanout` to
`follow` a channel and gets a `Follower`, a queue that a single reader thread fills with
the channel's messages. The first follower of a channel subscribes it, the last one to
leave unsubscribes it. `follow` returns only once Redis has confirmed the subscription,
so every message published afterwards reaches the follower (the relay then replays the
buffer and deduplicates by seq).

When the connection drops (a Redis restart, or Redis disconnecting a slow subscriber), every
follower is told (`Lost`), the channels are forgotten, and the next `follow` opens a new
connection: the relay follows again and catches up from the buffer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app
from redis import Redis
from redis.backoff import NoBackoff
from redis.client import PubSub
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

log = logging.getLogger(__name__)

CONFIRM_TIMEOUT = 10.0  # seconds to wait for Redis to confirm a subscription
RETRY_AFTER = 1.0  # seconds after a failed connection during which follow fails at once


class Lost(RedisError):
    """The process's subscription dropped; messages may have been missed."""


_LOST = object()  # the marker a follower's queue receives when the connection drops


@dataclass(eq=False)
class Follower:
    """A socket's view of one channel: the raw messages, in the order Redis sent them."""

    fanout: Fanout
    channel: str
    lost: bool = False  # set, with a marker in the queue, when the connection drops
    _queue: queue.SimpleQueue = field(default_factory=queue.SimpleQueue)

    def get(self, timeout: float) -> str | None:
        """The next message, or None after `timeout` seconds; raises Lost once it dropped
        (messages still queued then are left: the relay catches up from the buffers)."""
        if self.lost:
            raise Lost("the Redis subscription dropped")
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is _LOST:
            raise Lost("the Redis subscription dropped")
        return item

    def drain(self) -> list[str]:
        """The messages already waiting, without waiting (a drop is raised by the next get)."""
        items: list[str] = []
        while not self._queue.empty():
            item = self._queue.get_nowait()
            if item is _LOST:
                break
            items.append(item)
        return items

    def shared(self, name: str, every: float, work: Callable[[], Any]) -> tuple[float, Any]:
        """Run `work` for all of the channel's followers in this process, at most once every
        `every` seconds: the follower that finds it due runs it, the others take its latest
        result. Returns (when it ran, monotonic; its result), or (-inf, None) before it ran.

        This is how a thousand sockets on one turn cost what one does: the watchdog and the
        quiet check of a turn run once per interval per process, not once per socket.
        """
        now = time.monotonic()
        with self.fanout._lock:
            entry = self.fanout._channels.get(self.channel)
            if entry is None or self not in entry.followers:
                return NEVER  # dropped: the follower is told by its queue
            last = entry.shared.get(name, NEVER)
            if now - last[0] < every:
                return last
            entry.shared[name] = (now, last[1])  # the others keep the last result meanwhile
        result = work()
        with self.fanout._lock:
            entry.shared[name] = (now, result)
        return now, result

    def close(self) -> None:
        """Stop following (the channel is unsubscribed once nobody follows it)."""
        self.fanout._leave(self)


NEVER: tuple[float, Any] = (float("-inf"), None)


@dataclass(eq=False)
class _Channel:
    followers: set[Follower] = field(default_factory=set)
    confirmed: threading.Event = field(default_factory=threading.Event)
    shared: dict[str, tuple[float, Any]] = field(default_factory=dict)  # see Follower.shared


class Fanout:
    """The process's pub/sub connection and its reader thread, started on first use."""

    def __init__(self, redis: Redis, poll: float = 1.0) -> None:
        self._redis = redis
        self._poll = poll
        self._lock = threading.Lock()  # guards everything below, and orders (un)subscribes
        self._channels: dict[str, _Channel] = {}
        # The entries whose SUBSCRIBE awaits Redis's confirmation, per channel, in the order
        # sent: Redis confirms in that order, so a stale confirmation never confirms a newer
        # entry of the same channel.
        self._awaiting: dict[str, deque[_Channel]] = {}
        self._pubsub: PubSub | None = None
        self._pid = os.getpid()
        self._failed_at = -RETRY_AFTER  # when opening a connection last failed (monotonic)

    def follow(self, channel: str) -> Follower:
        """Follow `channel`, once Redis confirms the subscription; raises RedisError."""
        follower = Follower(self, channel)
        with self._lock:
            # The lock is held while connecting: when Redis is unreachable, sockets
            # reconnecting together must not queue up behind one connect timeout each.
            if self._pubsub is None and time.monotonic() - self._failed_at < RETRY_AFTER:
                raise RedisConnectionError("Redis is unreachable (retrying shortly)")
            pubsub = self._connection()
            entry = self._channels.get(channel)
            if entry is None:
                entry = self._channels[channel] = _Channel()
                self._awaiting.setdefault(channel, deque()).append(entry)
                try:
                    pubsub.subscribe(channel)
                except RedisError:
                    self._failed_at = time.monotonic()
                    self._drop(pubsub)
                    raise
            entry.followers.add(follower)
        if not entry.confirmed.wait(CONFIRM_TIMEOUT):
            self._leave(follower)
            raise RedisTimeoutError("no subscribe confirmation from Redis")
        if follower.lost:
            raise Lost("the Redis subscription dropped")  # while waiting for the confirmation
        return follower

    def _leave(self, follower: Follower) -> None:
        with self._lock:
            entry = self._channels.get(follower.channel)
            if entry is None or follower not in entry.followers:
                return
            entry.followers.discard(follower)
            if entry.followers:
                return
            del self._channels[follower.channel]
            if self._pubsub is not None:
                try:
                    self._pubsub.unsubscribe(follower.channel)
                except RedisError as exc:
                    log.warning("redis subscription dropped on unsubscribe: %s", exc)
                    self._drop(self._pubsub)

    def _connection(self) -> PubSub:
        """The live PubSub, opened (with its reader thread) when there is none. Under lock."""
        if self._pid != os.getpid():  # forked (gunicorn): the parent's connection is not ours
            self._pid, self._pubsub = os.getpid(), None
            self._channels.clear()
            self._awaiting.clear()
        if self._pubsub is None:
            # A pool of its own: a dropped connection's teardown (closing it, or the reader
            # thread failing on it) then never reaches a connection handed out afresh, as
            # it did through a shared pool, which gives a closed connection out again.
            pool = self._redis.connection_pool
            own = type(pool)(connection_class=pool.connection_class, **pool.connection_kwargs)
            self._pubsub = type(self._redis)(connection_pool=own).pubsub()
            thread = threading.Thread(
                target=self._read, args=(self._pubsub,), daemon=True, name="redis-fanout"
            )
            thread.start()
        return self._pubsub

    def _read(self, pubsub: PubSub) -> None:
        """The reader thread: hand each message to the channel's followers, until it drops."""
        while True:
            with self._lock:
                if self._pubsub is not pubsub:
                    return
            try:
                message = pubsub.get_message(timeout=self._poll)
            except Exception as exc:  # a Redis error, or the parser torn down by a close
                with self._lock:
                    if self._pubsub is pubsub:  # not closed on purpose
                        log.warning("redis subscription dropped: %s", exc)
                        self._drop(pubsub)
                return
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict) -> None:
        kind, channel = message["type"], message["channel"]
        with self._lock:
            if kind == "message":
                entry = self._channels.get(channel)
                if entry is not None:
                    for follower in entry.followers:
                        follower._queue.put(message["data"])
            elif kind == "subscribe":
                awaiting = self._awaiting.get(channel)
                if awaiting:
                    awaiting.popleft().confirmed.set()
                    if not awaiting:
                        del self._awaiting[channel]

    def _drop(self, pubsub: PubSub) -> None:
        """Forget a broken connection and tell every follower. Under lock."""
        if self._pubsub is not pubsub:
            return
        self._pubsub = None
        for entry in self._channels.values():
            for follower in entry.followers:
                follower.lost = True
                follower._queue.put(_LOST)
            entry.confirmed.set()  # wake a follow() waiting for it; it then sees _LOST
        self._channels.clear()
        self._awaiting.clear()
        with contextlib.suppress(RedisError, OSError):
            pubsub.close()
            pubsub.connection_pool.disconnect()

    def close(self) -> None:
        """Close the connection (the reader thread then ends); followers are told."""
        with self._lock:
            if self._pubsub is not None:
                self._drop(self._pubsub)


def init_app(app: Flask) -> None:
    """Give `app` its process-wide subscription (connected on the first follow)."""
    # It must not reconnect by itself: messages published while it was away would be
    # missed silently, so a drop is reported to the relays, which follow again and catch
    # up from the buffers.
    subscriber = Redis.from_url(
        app.config["REDIS_URL"],
        decode_responses=True,
        socket_connect_timeout=5,
        socket_keepalive=True,
        retry=Retry(NoBackoff(), 0),
    )
    app.extensions["fanout"] = Fanout(subscriber)


def current_fanout() -> Fanout:
    """The current app's shared subscription, which relays follow turns through."""
    return current_app.extensions["fanout"]
