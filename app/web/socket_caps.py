"""Caps on open websockets per client and per address, counted in Redis for all web processes.

Each cap is a sorted set of socket ids scored by when their place lapses. A live socket
refreshes its place every third of the lease; a socket whose process died (kill -9, OOM) is
never removed, but its place lapses after `LEASE_SECONDS` and the next open sweeps it away,
so a crash leaves no phantom count for longer than that.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import cast

from redis import Redis

LEASE_SECONDS = 60.0
KEY_PREFIX = "duet:ws:open:"

# KEYS: the caps' sets; ARGV: now, the new place's expiry, its id, the sets' TTL, then one
# cap per key. Returns 0 when the socket took its place in every set, else the (1-based)
# index of the first cap that was full: nothing is added then.
_TAKE = """
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', ARGV[1])
  if redis.call('ZCARD', key) >= tonumber(ARGV[4 + i]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, ARGV[2], ARGV[3])
  redis.call('EXPIRE', key, ARGV[4])
end
return 0
"""


@dataclass
class Place:
    """One open socket's place under its caps, refreshed while it lives."""

    redis: Redis
    keys: list[str]
    member: str
    lease: float
    refreshed: float

    def keep(self) -> bool:
        """Refresh the place when a third of its lease has passed; always True (a failed
        refresh is Redis's trouble, which the relay reports by itself)."""
        now = time.monotonic()
        if now - self.refreshed >= self.lease / 3:
            self.refreshed = now
            expiry = time.time() + self.lease
            with self.redis.pipeline(transaction=False) as pipe:
                for key in self.keys:
                    pipe.zadd(key, {self.member: expiry}, xx=True)
                    pipe.expire(key, int(self.lease) + 1)
                pipe.execute()
        return True

    def release(self) -> None:
        """Give the place up (the socket closed)."""
        with self.redis.pipeline(transaction=False) as pipe:
            for key in self.keys:
                pipe.zrem(key, self.member)
            pipe.execute()


def take_place(
    redis: Redis, caps: list[tuple[str, int]], lease: float = LEASE_SECONDS
) -> Place | int:
    """A place under every `(key, cap)`, or the index in `caps` of the first one that is full."""
    keys = [KEY_PREFIX + key for key, _ in caps]
    member = secrets.token_hex(8)
    now = time.time()
    args: list[str | float] = [now, now + lease, member, int(lease) + 1, *(c for _, c in caps)]
    full = cast(int, redis.eval(_TAKE, len(keys), *keys, *args))  # a sync client
    if full:
        return int(full) - 1
    return Place(redis, keys, member, lease, time.monotonic())
