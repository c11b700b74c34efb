"""Fair generation: a cap on the generations one client, and one address, has running at once.

The rate limits bound how often a client may start generations; this bounds how many of them
run at the same time, so that slow answers cannot pile up on the model endpoint, and a script
that fetches new cookies cannot take the endpoint from everyone else.

The address's cap is for anonymous clients: a signed-in named rater has only their own
(`limited_per_rater_only` in app/web/security.py), so a team behind one NAT is not starved.
Each capped key (the client's, the address's: app/web/security.py) has a Redis sorted set of
the response ids it started, scored by when. Counting and adding happen in one Lua call, so
every web process sees the same count and two requests at once cannot both take the last
place. Ended generations are found lazily: only when a set looks full are its members
checked against the database, in one query, and the ended ones removed. Members older than
any generation can run are dropped by age, and each set expires, so nothing leaks.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from types import TracebackType
from typing import cast

from flask import current_app, g
from flask_babel import gettext
from redis.exceptions import RedisError
from sqlalchemy import select

from app.errors import ApiError
from app.extensions import db, redis_client
from app.models import Response
from app.vocabulary import STREAMING
from app.web.security import client_key, ip_key, limited_per_rater_only

log = logging.getLogger(__name__)

_PREFIX = "duet:running:"
# A response id not in the database yet is a request between its check and its commit:
# another request's prune leaves it alone for this long.
_UNCOMMITTED_GRACE = 30.0
# What a refused client is told to wait: a generation's end cannot be foreseen, and a few
# seconds are what a short answer takes.
RETRY_AFTER = 5

# KEYS: the running sets. ARGV: now (s), oldest score kept, ttl (s), a cap per key, then the
# response ids to add. Returns 0 when added to every set, else the number of the full set.
_ADMIT = """
local ids = {}
for i = 4 + #KEYS, #ARGV do ids[#ids + 1] = ARGV[i] end
for k = 1, #KEYS do
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', '(' .. ARGV[2])
  if redis.call('ZCARD', KEYS[k]) + #ids > tonumber(ARGV[3 + k]) then return k end
end
for k = 1, #KEYS do
  for _, id in ipairs(ids) do redis.call('ZADD', KEYS[k], ARGV[1], id) end
  redis.call('EXPIRE', KEYS[k], ARGV[3])
end
return 0
"""


def _caps() -> list[tuple[str, int, str]]:
    """(Redis key, cap, who) of each cap in force for this request; a cap of 0 is none."""
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return []
    if limited_per_rater_only():  # a named rater, on any browser: the address's cap is not theirs
        caps = [(client_key(), config["GENERATIONS_PER_CLIENT"], "your account")]
    else:
        caps = [
            (client_key(), config["GENERATIONS_PER_CLIENT"], "this browser"),
            (ip_key(), config["GENERATIONS_PER_ADDRESS"], "your network address"),
        ]
    return [(_PREFIX + key, cap, who) for key, cap, who in caps if cap > 0]


def _horizon() -> float:
    """Seconds past which no generation can still be running: queued, then each attempt."""
    config = current_app.config
    attempts = config["SLOT_RESTARTS"] + 1
    per_attempt = config["GENERATION_TOTAL_TIMEOUT"] + config["SLOT_RESTART_WAIT"]
    return config["GENERATION_QUEUE_TIMEOUT"] + attempts * per_attempt


def admit(responses: Iterable[Response]) -> None:
    """Count `responses` as running for this client and address, or refuse them with a 429.

    Called once the responses are planned (their ids known), before anything is stored.
    """
    caps = _caps()
    ids = [r.id for r in responses]
    if not caps or not ids:
        return
    full = _try_admit(caps, ids)
    if full:
        _prune_ended([key for key, _, _ in caps])
        full = _try_admit(caps, ids)
    if full:
        _, cap, who = caps[full - 1]
        g.retry_after = RETRY_AFTER
        raise ApiError(
            429,
            "too_many_generations",
            _capped(who, cap),
        )


def _capped(who: str, cap: int) -> str:
    # One whole sentence per cap, so that a translation can agree its words with the subject.
    if who == "your account":
        return gettext(
            "Your account already has %(cap)s answers being generated, the most allowed at "
            "once; wait for one to finish (or cancel one), then send again.",
            cap=cap,
        )
    if who == "this browser":
        return gettext(
            "This browser already has %(cap)s answers being generated, the most allowed at "
            "once; wait for one to finish (or cancel one), then send again.",
            cap=cap,
        )
    return gettext(
        "Your network address already has %(cap)s answers being generated, the most allowed "
        "at once; wait for one to finish (or cancel one), then send again.",
        cap=cap,
    )


def release(responses: Iterable[Response]) -> None:
    """Stop counting `responses` (a request that admitted them failed before they ran)."""
    caps = _caps()
    ids = [r.id for r in responses if r.id]
    if caps and ids:
        pipe = redis_client.get().pipeline(transaction=False)
        for key, _, _ in caps:
            pipe.zrem(key, *ids)
        pipe.execute()


class Admission:
    """`admit` for one request, as a block: what it admitted is released if the block fails
    (the turn was not stored, or not queued), so nothing counts that will never run."""

    def __init__(self) -> None:
        self.admitted: list[Response] = []

    def __call__(self, responses: list[Response]) -> None:
        admit(responses)
        self.admitted.extend(responses)

    def __enter__(self) -> Admission:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if kind is None or not self.admitted:
            return
        try:
            release(self.admitted)
        except RedisError:  # the prune drops them later: they never reach the database
            log.warning("could not release refused generations", exc_info=True)


def _try_admit(caps: list[tuple[str, int, str]], ids: list[str]) -> int:
    now, horizon = time.time(), _horizon()
    keys = [key for key, _, _ in caps]
    args: list[str | float] = [now, now - horizon, int(horizon) + 60]
    args += [cap for _, cap, _ in caps]
    args += ids
    redis = redis_client.get()
    script = redis.register_script(_ADMIT)  # run by its SHA, sent to the server once
    return int(cast(int, script(keys=keys, args=args, client=redis)))


def _prune_ended(keys: list[str]) -> None:
    """Remove from the sets the generations that have ended, in one database query."""
    redis = redis_client.get()
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.zrange(key, 0, -1, withscores=True)
    started = {member: score for members in pipe.execute() for member, score in members}
    if not started:
        return
    query = select(Response.id, Response.status).where(Response.id.in_(list(started)))
    with db.session.no_autoflush:  # the request's unsaved turn is not to be written here
        statuses = {row.id: row.status for row in db.session.execute(query)}
    stale = time.time() - _UNCOMMITTED_GRACE
    ended = [
        member
        for member, score in started.items()
        if statuses.get(member, STREAMING) != STREAMING
        or (member not in statuses and score < stale)
    ]
    if ended:
        for key in keys:
            pipe.zrem(key, *ended)
        pipe.execute()
