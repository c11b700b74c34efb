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
retrying after a timeout) is written once.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, cast

import orjson
from redis import Redis
from redis.client import Pipeline
from redis.commands.core import Script

TERMINAL_TYPES = frozenset({"done", "error", "cancelled"})

# KEYS: final, lease, attempt, buffer, last seq.
# ARGV: channel, lease ms, ttl s, slot, max attempts, '1' if the slot was started before,
# a fresh id for the reset event.
_BEGIN_ATTEMPT = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local attempt = redis.call('INCR', KEYS[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
if attempt > tonumber(ARGV[5]) then return -attempt end
redis.call('SET', KEYS[2], attempt, 'PX', ARGV[2])
redis.call('DEL', KEYS[5])
if attempt > 1 or ARGV[6] == '1' then
  local event = cjson.encode({type='reset', slot=ARGV[4], attempt=attempt, id=ARGV[7]})
  redis.call('DEL', KEYS[4])
  redis.call('RPUSH', KEYS[4], event)
  redis.call('EXPIRE', KEYS[4], ARGV[3])
  redis.call('PUBLISH', ARGV[1], event)
end
return attempt
"""

# KEYS: buffer, final, lease, last seq. ARGV: channel, event, ttl s, attempt, lease ms, seq.
# A call that is sent again (a client retrying after a timeout) appends nothing twice.
_APPEND_TOKEN = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
if redis.call('GET', KEYS[3]) ~= ARGV[4] then return 0 end
if tonumber(redis.call('GET', KEYS[4]) or '0') >= tonumber(ARGV[6]) then return 1 end
redis.call('SET', KEYS[4], ARGV[6], 'EX', ARGV[3])
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[3], ARGV[5])
return 1
"""

# KEYS: lease. ARGV: attempt, lease ms.
_RENEW_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""

# KEYS: final, lease. ARGV: ttl s, attempt ('' when ending from outside the generating task).
_CLAIM = """
if ARGV[2] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
if redis.call('SET', KEYS[1], 'claimed', 'NX', 'EX', ARGV[1]) then return 1 end
return 0
"""

# KEYS: buffer, final. ARGV: channel, event, ttl s.
_EMIT_TERMINAL = """
if redis.call('GET', KEYS[2]) == 'emitted' then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], 'emitted', 'EX', ARGV[3])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
"""

# KEYS: restart pending, restart count. ARGV: wait ms, ttl s.
_REQUEST_RESTART = """
if redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[1]) == false then return -1 end
local n = redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[2])
return n
"""

# KEYS: final, lease, attempt, buffer, last seq, restart pending, restarts.
# ARGV: channel, ttl s, slot, max attempts, a fresh id for the reset event.
# The lease fences a superseded attempt by its number, so a reopened slot's next attempt
# must not take a number a live attempt holds: the count goes on while numbers are left;
# once they are used up it starts again, but only when no attempt holds the lease.
_REOPEN = """
local leased = redis.call('EXISTS', KEYS[2]) == 1
if leased and redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if tonumber(redis.call('GET', KEYS[3]) or '0') >= tonumber(ARGV[4]) then
  if leased then return -1 end
  redis.call('DEL', KEYS[3])
end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[5], KEYS[6], KEYS[7])
local event = cjson.encode({type='reset', slot=ARGV[3], id=ARGV[5]})
redis.call('DEL', KEYS[4])
redis.call('RPUSH', KEYS[4], event)
redis.call('EXPIRE', KEYS[4], ARGV[2])
redis.call('PUBLISH', ARGV[1], event)
return 1
"""


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
    _script(redis, _APPEND_TOKEN).sha = cast(str, redis.script_load(_APPEND_TOKEN))


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
    (`stage`, then `appended`), as the worker's publisher does for many slots at once."""

    redis: Redis
    turn_id: str
    slot: str
    ttl: int
    attempt: int
    lease_ms: int
    seq: int = 0

    def token(self, text: str) -> bool:
        """Append a token; False once the slot is claimed or the attempt superseded."""
        keys, args = self._append(text)
        if not _call(self.redis, _APPEND_TOKEN, keys, args):
            return False
        self.seq += 1
        return True

    def stage(self, pipe: Pipeline, text: str) -> None:
        """Queue on `pipe` the append of `text` as the next token (seq + 1). Its result is 1
        when appended (then call `appended`), 0 when refused, as with `token`; a Redis that
        lost its scripts answers NoScriptError, and `load_scripts` fixes that."""
        keys, args = self._append(text)
        pipe.evalsha(_script(self.redis, _APPEND_TOKEN).sha, len(keys), *keys, *args)

    def appended(self) -> None:
        """Record that a staged token was appended."""
        self.seq += 1

    def _append(self, text: str) -> tuple[list, list]:
        seq = self.seq + 1
        keys = [
            buffer_key(self.turn_id, self.slot),
            _key(self.turn_id, "final", self.slot),
            _key(self.turn_id, "lease", self.slot),
            _key(self.turn_id, "seq", self.slot),
        ]
        event = dump(token_event(self.slot, seq, text))
        return keys, [channel(self.turn_id), event, self.ttl, self.attempt, self.lease_ms, seq]

    def renew(self) -> bool:
        """Extend the lease (the heartbeat); False when this attempt no longer holds it."""
        lease = _key(self.turn_id, "lease", self.slot)
        return bool(_call(self.redis, _RENEW_LEASE, [lease], [self.attempt, self.lease_ms]))


def begin_attempt(
    redis: Redis,
    turn_id: str,
    slot: str,
    *,
    lease_ms: int,
    ttl: int,
    max_attempts: int,
    restart: bool = False,
) -> int:
    """Start generating a slot: its attempt number, 0 if it is ended or running elsewhere,
    or minus the attempt number when `max_attempts` is used up. A later attempt, or any
    `restart` (the database says it started before Redis lost count), publishes `reset`."""
    keys = [
        _key(turn_id, "final", slot),
        _key(turn_id, "lease", slot),
        _key(turn_id, "attempt", slot),
        buffer_key(turn_id, slot),
        _key(turn_id, "seq", slot),
    ]
    args = [
        channel(turn_id),
        lease_ms,
        ttl,
        slot,
        max_attempts,
        "1" if restart else "0",
        uuid.uuid4().hex,  # tells this reset from any other, even of an attempt numbered alike
    ]
    return int(_call(redis, _BEGIN_ATTEMPT, keys, args))


def claim_terminal(
    redis: Redis, turn_id: str, slot: str, ttl: int, attempt: int | None = None
) -> bool:
    """Take the right to end a slot; only one caller ever gets True. With `attempt`, only
    while that attempt still holds the lease."""
    keys = [_key(turn_id, "final", slot), _key(turn_id, "lease", slot)]
    return bool(_call(redis, _CLAIM, keys, [ttl, "" if attempt is None else attempt]))


def emit_terminal(redis: Redis, turn_id: str, event: dict, ttl: int) -> bool:
    """Publish a slot's terminal event unless one was published already; True if this one was."""
    slot = event["slot"]
    keys = [buffer_key(turn_id, slot), _key(turn_id, "final", slot)]
    return bool(_call(redis, _EMIT_TERMINAL, keys, [channel(turn_id), dump(event), ttl]))


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


def request_restart(redis: Redis, turn_id: str, slot: str, *, wait_ms: int, ttl: int) -> int:
    """Ask for one restart of a slot whose worker was lost: the count of restarts asked so
    far, or -1 while an earlier request is still waiting for a worker."""
    keys = [_key(turn_id, "restart-pending", slot), _key(turn_id, "restarts", slot)]
    return int(_call(redis, _REQUEST_RESTART, keys, [wait_ms, ttl]))


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
    ]
    args = [channel(turn_id), ttl, slot, max_attempts, uuid.uuid4().hex]
    return int(_call(redis, _REOPEN, keys, args))


def buffered_events(redis: Redis, turn_id: str, slot: str) -> list[str]:
    """A slot's buffered events, as the JSON strings that were published."""
    return cast(list[str], redis.lrange(buffer_key(turn_id, slot), 0, -1))


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
