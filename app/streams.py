"""The stream protocol: Redis key and channel names, event shapes, publish, replay and follow.

Every event of a slot goes, in one atomic Lua call, into a per-slot Redis list (the
buffer, replayed to late or reconnecting sockets) and onto the turn's pub/sub channel
(live delivery). A slot's terminal event is guarded by a claim key: whoever claims it
(the generating task, a cancel, the watchdog) is the only one to end the slot, and no
token is accepted once it is claimed, which is also how a task learns it was cancelled.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

TERMINAL_TYPES = frozenset({"done", "error", "cancelled"})

_APPEND_TOKEN = """
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
"""

_EMIT_TERMINAL = """
if redis.call('GET', KEYS[2]) == 'emitted' then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], 'emitted', 'EX', ARGV[3])
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
"""


def channel(turn_id: str) -> str:
    """The pub/sub channel carrying every live event of a turn."""
    return f"duet:turn:{{{turn_id}}}:live"


def buffer_key(turn_id: str, slot: str) -> str:
    """The list holding a slot's events in order, for replay."""
    return f"duet:turn:{{{turn_id}}}:events:{slot}"


def final_key(turn_id: str, slot: str) -> str:
    """The claim on a slot's single terminal event ('claimed', then 'emitted')."""
    return f"duet:turn:{{{turn_id}}}:final:{slot}"


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


def _dump(event: dict) -> str:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


@dataclass
class SlotWriter:
    """Publishes one slot's events; used by the task that generates it."""

    redis: Redis
    turn_id: str
    slot: str
    ttl: int
    seq: int = 0

    def token(self, text: str) -> bool:
        """Append a token; False once the slot is claimed (cancelled or ended elsewhere)."""
        event = token_event(self.slot, self.seq + 1, text)
        keys = [buffer_key(self.turn_id, self.slot), final_key(self.turn_id, self.slot)]
        args = [channel(self.turn_id), _dump(event), self.ttl]
        if not self.redis.eval(_APPEND_TOKEN, 2, *keys, *args):
            return False
        self.seq += 1
        return True


def claim_terminal(redis: Redis, turn_id: str, slot: str, ttl: int) -> bool:
    """Take the right to end a slot; only one caller ever gets True."""
    return bool(redis.set(final_key(turn_id, slot), "claimed", nx=True, ex=ttl))


def is_claimed(redis: Redis, turn_id: str, slot: str) -> bool:
    """Whether a slot's terminal event has been claimed."""
    return bool(redis.exists(final_key(turn_id, slot)))


def emit_terminal(redis: Redis, turn_id: str, event: dict, ttl: int) -> bool:
    """Publish a slot's terminal event unless one was published already; True if this one was."""
    slot = event["slot"]
    keys = [buffer_key(turn_id, slot), final_key(turn_id, slot)]
    return bool(redis.eval(_EMIT_TERMINAL, 2, *keys, channel(turn_id), _dump(event), ttl))


def buffered_events(redis: Redis, turn_id: str, slot: str) -> list[str]:
    """A slot's buffered events, as the JSON strings that were published."""
    return redis.lrange(buffer_key(turn_id, slot), 0, -1)


def buffered_text(redis: Redis, turn_id: str, slot: str) -> tuple[str, int]:
    """The text a slot has streamed so far, and its last token seq."""
    parts, seq = [], 0
    for raw in buffered_events(redis, turn_id, slot):
        event = json.loads(raw)
        if event["type"] == "reset":
            parts, seq = [], 0
        elif event["type"] == "token":
            parts.append(event["text"])
            seq = event["seq"]
    return "".join(parts), seq


@dataclass
class _SlotState:
    held: int = 0
    ended: bool = False


@dataclass
class Relay:
    """Replays a turn's buffered events, then follows them live, in order, without duplicates.

    Yields the JSON strings to send. Ends with `{"type": "end"}` once every slot has
    reached its terminal event. `fallback(slot)` gives events for a slot whose buffer
    has expired; `on_idle(slots)` runs when nothing arrived for `idle_every` seconds
    (the watchdog that ends stuck slots).
    """

    redis: Redis
    turn_id: str
    slots: Iterable[str]
    after: dict[str, int] = field(default_factory=dict)
    fallback: Callable[[str], list[dict]] | None = None
    on_idle: Callable[[list[str]], None] | None = None
    is_open: Callable[[], bool] = lambda: True
    poll: float = 1.0
    idle_every: float = 5.0

    def __post_init__(self) -> None:
        self.state = {s: _SlotState(held=max(0, self.after.get(s, 0))) for s in self.slots}

    def _accept(self, raw: str) -> tuple[bool, bool]:
        """Decide whether to send one event: (send it, a gap was seen)."""
        event = json.loads(raw)
        state = self.state.get(event.get("slot"))
        if state is None or state.ended:
            return False, False
        kind = event["type"]
        if kind == "token":
            if event["seq"] <= state.held:
                return False, False
            if event["seq"] > state.held + 1:
                return False, True
            state.held = event["seq"]
            return True, False
        if kind == "reset":
            state.held = 0
            return True, False
        if kind == "done" and event["seq"] > state.held:
            return False, True  # tokens before `done` went missing: fetch them first
        if kind in TERMINAL_TYPES:
            state.ended = True
            return True, False
        return False, False

    def _replay(self) -> Iterator[str]:
        for slot, state in self.state.items():
            if state.ended:
                continue
            events = buffered_events(self.redis, self.turn_id, slot)
            if not events and self.fallback is not None:
                events = [_dump(e) for e in self.fallback(slot)]
            for raw in events:
                send, _ = self._accept(raw)
                if send:
                    yield raw

    def _pending(self) -> list[str]:
        return [s for s, st in self.state.items() if not st.ended]

    def __iter__(self) -> Iterator[str]:
        pubsub = self.redis.pubsub()
        try:
            yield from self._follow(pubsub)
        finally:
            pubsub.close()

    def _subscribe(self, pubsub) -> None:
        # Wait for the confirmation: only then is every later publish sure to reach us.
        pubsub.subscribe(channel(self.turn_id))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=1.0)
            if message and message["type"] == "subscribe":
                return
        raise RedisTimeoutError("no subscribe confirmation from Redis")

    def _follow(self, pubsub) -> Iterator[str]:
        self._subscribe(pubsub)
        yield from self._replay()
        last_activity = time.monotonic()
        while self._pending() and self.is_open():
            try:
                message = pubsub.get_message(timeout=self.poll)
            except (RedisConnectionError, RedisTimeoutError):
                # The subscription dropped (Redis restart, slow-subscriber limit): renew it
                # and catch up from the buffer, which holds everything.
                pubsub.reset()
                self._subscribe(pubsub)
                yield from self._replay()
                continue
            if message is None or message["type"] != "message":
                if time.monotonic() - last_activity >= self.idle_every:
                    last_activity = time.monotonic()
                    if self.on_idle is not None:
                        self.on_idle(self._pending())
                    yield from self._replay()
                continue
            last_activity = time.monotonic()
            send, gap = self._accept(message["data"])
            if send:
                yield message["data"]
            elif gap:
                yield from self._replay()
        if not self._pending():
            yield END_EVENT
