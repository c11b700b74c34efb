"""The stream protocol: Redis key and channel names, event shapes, and the writes to them.

Every event of a slot goes, in one atomic Lua call, into a per-slot Redis list (the buffer,
replayed to late or reconnecting sockets) and onto the turn's pub/sub channel (live delivery).

Three keys guard a slot:
- the claim (`final`): whoever claims it (the generating task, a cancel, the watchdog) is the
  only one to end the slot; no token is accepted once it is claimed, which is how a task
  learns it was cancelled;
- the lease: held by the running attempt, renewed by every token and by a heartbeat; a slot
  whose lease lapsed lost its worker;
- the attempt counter: a new attempt empties the buffer and publishes `reset`, and tokens
  of a superseded attempt are refused, so two attempts' text never mix.

A fourth key keeps the attempt's last appended seq, so an append sent twice (a client
retrying after a timeout) is written once; a fifth (`owner`) names the attempt begun last.

A lease holds a token unique to its attempt, not the attempt's number: a Redis that restarted
empty numbers attempts afresh, and a new attempt 1 must not pass for an old one. Such a
restart loses every key of a running slot; the generating attempt, which keeps what it
appended, puts them back (`SlotWriter.restore`) and carries on, so nothing it streamed is
lost and no other attempt is started meanwhile.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script

from app.streaming import scripts

TERMINAL_TYPES = frozenset({"done", "error", "cancelled"})

_scripts: dict[str, Script] = {}


def _script(redis: Redis, source: str) -> Script:
    script = _scripts.get(source)
    if script is None:
        script = _scripts[source] = redis.register_script(source)
    return script


def _call(redis: Redis, source: str, keys: list[str], args: list) -> Any:
    """Run a Lua script by its SHA (EVALSHA), loading it once per Redis server."""
    return _script(redis, source)(keys=keys, args=args, client=redis)


def load_scripts(redis: Redis) -> None:
    """Load the token script into Redis (staged calls use its SHA and do not load it)."""
    _script(redis, scripts.APPEND_TOKEN).sha = cast(str, redis.script_load(scripts.APPEND_TOKEN))


def _key(turn_id: str, name: str, slot: str | None = None) -> str:
    # The hash tag keeps a turn's keys on one Redis Cluster node, as Lua calls require.
    return f"duet:turn:{{{turn_id}}}:{name}" + (f":{slot}" if slot else "")


def channel(turn_id: str) -> str:
    """The pub/sub channel carrying every live event of a turn."""
    return _key(turn_id, "live")


def buffer_key(turn_id: str, slot: str) -> str:
    """The list holding a slot's events in order, for replay."""
    return _key(turn_id, "events", slot)


def token_event(slot: str, seq: int, text: str) -> dict:
    """A piece of a slot's text; seq starts at 1 and has no gaps."""
    return {"type": "token", "slot": slot, "seq": seq, "text": text}


def done_event(slot: str, seq: int, finish_reason: str | None) -> dict:
    """The slot finished normally after `seq` tokens."""
    return {"type": "done", "slot": slot, "seq": seq, "finish_reason": finish_reason}


def error_event(slot: str, message: str) -> dict:
    """The slot's generation failed."""
    return {"type": "error", "slot": slot, "message": message}


def reset_event(slot: str, attempt: int, reset_id: str) -> dict:
    """The slot starts again from scratch (a new attempt): drop its text."""
    return {"type": "reset", "slot": slot, "attempt": attempt, "id": reset_id}


def cancelled_event(slot: str) -> dict:
    """The slot was stopped by the user."""
    return {"type": "cancelled", "slot": slot}


END_EVENT = json.dumps({"type": "end"})


def dump(event: dict) -> str:
    """An event as sent on the wire."""
    return orjson.dumps(event).decode()


@dataclass
class SlotWriter:
    """Appends one attempt's tokens: one call at a time (`token`), or staged on a pipeline
    (`stage`, then `appended`), as the worker's publisher does for many slots at once.

    `lease` is the attempt's token (default: its number, as older code wrote it); `reset_id`
    the id of the `reset` its start published, if it did. It keeps the texts it appended,
    to put them back if Redis loses them (`restore`)."""

    redis: Redis
    turn_id: str
    slot: str
    ttl: int
    attempt: int
    lease_ms: int
    seq: int = 0
    lease: str = ""
    reset_id: str = ""
    texts: list[str] = field(default_factory=list)

    @property
    def holder(self) -> str:
        """The value of the lease while this attempt holds it."""
        return self.lease or str(self.attempt)

    def token(self, text: str) -> bool:
        """Append a token; False once the slot is claimed or the attempt superseded."""
        keys, args = self._append(text)
        result = _call(self.redis, scripts.APPEND_TOKEN, keys, args)
        if result == -1 and self.restore():
            result = _call(self.redis, scripts.APPEND_TOKEN, keys, args)
        if result != 1:
            return False
        self.appended(text)
        return True

    def stage(self, pipe: Pipeline, text: str) -> None:
        """Queue on `pipe` the append of `text` as the next token (seq + 1). Its result is 1
        when appended (then call `appended`), 0 when refused, as with `token`, -1 when the
        lease is gone (call `restore`, then stage it again); a Redis that
        lost its scripts answers NoScriptError, and `load_scripts` fixes that."""
        keys, args = self._append(text)
        pipe.evalsha(_script(self.redis, scripts.APPEND_TOKEN).sha, len(keys), *keys, *args)

    def appended(self, text: str = "") -> None:
        """Record that a staged token was appended."""
        self.texts.append(text)
        self.seq += 1

    def restore(self) -> int:
        """Take the lease back after it lapsed, and when Redis lost the slot (a restart),
        put back its attempt, lease and events: 0 if the slot was claimed or another
        attempt began, else 1 (lease retaken) or 2 (rebuilt). The events go to Redis only
        when it needs them: every generation's end calls this, and its text is long."""
        restored = self._restore(with_events=False)
        return self._restore(with_events=True) if restored == 3 else restored

    def _restore(self, with_events: bool) -> int:
        texts = list(self.texts) if with_events else self.texts  # appended so far: seqs 1..len
        events = []
        if with_events:
            if self.reset_id:
                events.append(dump(reset_event(self.slot, self.attempt, self.reset_id)))
            events.extend(dump(token_event(self.slot, n, t)) for n, t in enumerate(texts, 1))
        keys = [
            _key(self.turn_id, "final", self.slot),
            _key(self.turn_id, "lease", self.slot),
            _key(self.turn_id, "owner", self.slot),
            _key(self.turn_id, "attempt", self.slot),
            buffer_key(self.turn_id, self.slot),
            _key(self.turn_id, "seq", self.slot),
        ]
        mode = "events" if with_events else "ask"
        args = [self.holder, self.lease_ms, self.ttl, self.attempt, len(texts), mode, *events]
        return int(_call(self.redis, scripts.RESTORE, keys, args))

    def _append(self, text: str) -> tuple[list, list]:
        seq = self.seq + 1
        keys = [
            buffer_key(self.turn_id, self.slot),
            _key(self.turn_id, "final", self.slot),
            _key(self.turn_id, "lease", self.slot),
            _key(self.turn_id, "seq", self.slot),
        ]
        event = dump(token_event(self.slot, seq, text))
        return keys, [channel(self.turn_id), event, self.ttl, self.holder, self.lease_ms, seq]

    def renew(self) -> bool:
        """Extend the lease (the heartbeat), taking it back if it is gone; False when
        another attempt holds it or the slot was claimed."""
        lease = _key(self.turn_id, "lease", self.slot)
        renewed = _call(self.redis, scripts.RENEW_LEASE, [lease], [self.holder, self.lease_ms])
        if renewed == -1:
            return self.restore() > 0
        return bool(renewed)


def begin_attempt(
    redis: Redis,
    turn_id: str,
    slot: str,
    *,
    lease_ms: int,
    ttl: int,
    max_attempts: int,
    restart: bool = False,
    lease: str = "",
) -> int:
    """Start generating a slot: its attempt number, 0 if it is ended or running elsewhere,
    or minus the attempt number when `max_attempts` is used up. A later attempt, or any
    `restart` (the database says it started before Redis lost count), publishes `reset`.
    `lease`: a token unique to this attempt, held as its lease and used as the reset's id
    (default: the attempt's number, and a fresh id)."""
    keys = [
        _key(turn_id, "final", slot),
        _key(turn_id, "lease", slot),
        _key(turn_id, "attempt", slot),
        buffer_key(turn_id, slot),
        _key(turn_id, "seq", slot),
        _key(turn_id, "owner", slot),
    ]
    args = [
        channel(turn_id),
        lease_ms,
        ttl,
        slot,
        max_attempts,
        "1" if restart else "0",
        # The reset's id tells it from any other, even of an attempt numbered alike.
        lease or uuid.uuid4().hex,
        lease,
    ]
    return int(_call(redis, scripts.BEGIN_ATTEMPT, keys, args))


def new_lease() -> str:
    """A token unique to one attempt."""
    return uuid.uuid4().hex


def claim_terminal(
    redis: Redis, turn_id: str, slot: str, ttl: int, attempt: int | str | None = None
) -> bool:
    """Take the right to end a slot; only one caller ever gets True. With `attempt` (the
    attempt's lease token, `SlotWriter.holder`), only while that attempt holds the lease."""
    keys = [_key(turn_id, "final", slot), _key(turn_id, "lease", slot)]
    return bool(_call(redis, scripts.CLAIM, keys, [ttl, "" if attempt is None else attempt]))


def emit_terminal(redis: Redis, turn_id: str, event: dict, ttl: int) -> bool:
    """Publish a slot's terminal event unless one was published already; True if this one was."""
    slot = event["slot"]
    keys = [buffer_key(turn_id, slot), _key(turn_id, "final", slot)]
    return bool(_call(redis, scripts.EMIT_TERMINAL, keys, [channel(turn_id), dump(event), ttl]))


@dataclass(frozen=True)
class SlotState:
    """What Redis says of a slot: attempts begun, a live lease, a claimed end."""

    attempts: int
    leased: bool
    claimed: bool


def slot_state(redis: Redis, turn_id: str, slot: str) -> SlotState:
    """Read a slot's guard keys in one round trip."""
    pipe = redis.pipeline(transaction=False)
    pipe.get(_key(turn_id, "attempt", slot))
    pipe.exists(_key(turn_id, "lease", slot))
    pipe.exists(_key(turn_id, "final", slot))
    attempts, leased, claimed = pipe.execute()
    return SlotState(int(attempts or 0), bool(leased), bool(claimed))


def orphaned_for(redis: Redis, turn_id: str, slot: str, grace_ms: int) -> bool:
    """Whether watchdogs have seen the slot without its Redis keys for `grace_ms` (call it
    each time one does): a Redis that restarted empty lost them, and a live generation
    puts them back within a lease or so."""
    return bool(_call(redis, scripts.ORPHANED_FOR, [_key(turn_id, "orphan", slot)], [grace_ms]))


def redis_started_at(redis: Redis) -> datetime:
    """When the Redis server last started, by its own clock (UTC)."""
    pipe = redis.pipeline(transaction=False)
    pipe.time()
    pipe.info("server")
    (seconds, micros), info = pipe.execute()
    return datetime.fromtimestamp(seconds + micros / 1e6 - info["uptime_in_seconds"], UTC)


def claim_requeue(redis: Redis, turn_id: str, slot: str, ttl: int) -> bool:
    """The right to queue a slot's task once more (its message was lost with Redis)."""
    return bool(redis.set(_key(turn_id, "requeued", slot), 1, nx=True, ex=ttl))


def refill(redis: Redis, turn_id: str, slot: str, events: list[dict], ttl: int) -> bool:
    """Put `events` in a slot's buffer if it is empty (Redis lost it); True if it was."""
    args = [ttl, *(dump(e) for e in events)]
    return bool(_call(redis, scripts.REFILL, [buffer_key(turn_id, slot)], args))


def request_restart(redis: Redis, turn_id: str, slot: str, *, wait_ms: int, ttl: int) -> int:
    """Ask for one restart of a slot whose worker was lost: the count of restarts asked so
    far, or -1 while an earlier request is still waiting for a worker."""
    keys = [_key(turn_id, "restart-pending", slot), _key(turn_id, "restarts", slot)]
    return int(_call(redis, scripts.REQUEST_RESTART, keys, [wait_ms, ttl]))


def reopen_slot(redis: Redis, turn_id: str, slot: str, *, ttl: int, max_attempts: int) -> int:
    """Make an ended slot (`error`, `cancelled`) ready for a new attempt (a retry): its end,
    lease and restart count are cleared, and its buffer becomes one `reset`, also published,
    so a client drops the old text. 1 when reopened; 0 when an attempt is running it; -1
    while a stopped attempt still holds the lease and no fresh attempt number is left (it
    lets go within SLOT_LEASE_SECONDS). Tokens and the end of every earlier attempt are
    refused from then on: they no longer hold the lease."""
    keys = [
        _key(turn_id, "final", slot),
        _key(turn_id, "lease", slot),
        _key(turn_id, "attempt", slot),
        buffer_key(turn_id, slot),
        _key(turn_id, "seq", slot),
        _key(turn_id, "restart-pending", slot),
        _key(turn_id, "restarts", slot),
        _key(turn_id, "owner", slot),
    ]
    args = [channel(turn_id), ttl, slot, max_attempts, uuid.uuid4().hex]
    return int(_call(redis, scripts.REOPEN, keys, args))


def buffered_events(redis: Redis, turn_id: str, slot: str) -> list[str]:
    """A slot's buffered events, as the JSON strings that were published."""
    return cast(list[str], redis.lrange(buffer_key(turn_id, slot), 0, -1))


def buffer_ends(redis: Redis, turn_id: str, slots: list[str]) -> dict[str, tuple[str, str] | None]:
    """Each slot's first and last buffered events (None for an empty buffer), in one round:
    enough to tell whether a relay missed something, without reading the whole buffers."""
    with redis.pipeline() as pipe:  # MULTI: both ends of the same moment
        for slot in slots:
            pipe.lindex(buffer_key(turn_id, slot), 0)
            pipe.lindex(buffer_key(turn_id, slot), -1)
        found = pipe.execute()
    return {
        slot: None if found[2 * i] is None else (found[2 * i], found[2 * i + 1])
        for i, slot in enumerate(slots)
    }


def buffered_text(redis: Redis, turn_id: str, slot: str) -> tuple[str, int]:
    """The text a slot's current attempt has streamed so far, and its last token seq."""
    parts: list[str] = []
    seq = 0
    for raw in buffered_events(redis, turn_id, slot):
        event = json.loads(raw)
        if event["type"] == "reset":
            parts, seq = [], 0
        elif event["type"] == "token":
            parts.append(event["text"])
            seq = event["seq"]
    return "".join(parts), seq
