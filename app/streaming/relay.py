"""Replay and follow: a turn's buffered events, then its live ones, in order, once each."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import orjson
from redis import Redis

from app.streaming.fanout import Fanout, Follower, Lost
from app.streaming.protocol import (
    END_EVENT,
    TERMINAL_TYPES,
    buffer_ends,
    buffered_events,
    channel,
    dump,
)


@dataclass
class _SlotState:
    held: int = 0  # the last token seq sent (or held by the client before it reconnected)
    ended: bool = False
    # The id of the `reset` sent last. It comes again with every re-read of the buffer
    # (which starts with it), may come live after the replay sent it, and again in the
    # catch-up after a dropped subscription: once is enough, or the client would be sent
    # the attempt's tokens again. Ids, not attempt numbers: a Redis that restarted empty
    # numbers attempts afresh.
    reset_id: str | None = None


@dataclass
class _Run:
    """Consecutive tokens of one slot, sent as one message."""

    raw: str  # the first token's event, sent as it is when nothing joins it
    slot: str
    first_seq: int
    seq: int
    texts: list[str]

    def message(self) -> str:
        if len(self.texts) == 1:
            return self.raw
        event = {"type": "token", "slot": self.slot, "seq": self.seq, "text": "".join(self.texts)}
        return dump({**event, "first_seq": self.first_seq})


class Outgoing:
    """The messages to send for a series of accepted events. With `join`, a slot's
    consecutive tokens become one token message whose `seq` is the last one's and whose
    `first_seq` is the first one's (a single token is sent as it came). Each slot's events
    keep their order; two slots' events may interleave differently, as they are independent.
    """

    def __init__(self, join: bool) -> None:
        self.join = join
        self._out: list[str | _Run] = []
        self._open: dict[str, _Run] = {}  # per slot, the run a next token joins

    def add(self, raw: str, event: dict) -> None:
        slot = event.get("slot", "")
        if not self.join:
            self._out.append(raw)
        elif event["type"] != "token":
            self._open.pop(slot, None)
            self._out.append(raw)
        elif (run := self._open.get(slot)) is not None:
            run.seq = event["seq"]
            run.texts.append(event["text"])
        else:
            run = _Run(raw, slot, event["seq"], event["seq"], [event["text"]])
            self._open[slot] = run
            self._out.append(run)

    def messages(self) -> Iterator[str]:
        for item in self._out:
            yield item if isinstance(item, str) else item.message()


@dataclass
class Relay:
    """Yields the JSON strings to send for a turn's slots, ending with `{"type": "end"}`.

    It follows the turn's channel through the process's `fanout` first (which returns once
    Redis confirmed the subscription), then replays the buffers, then relays the live
    messages, deduplicating by seq; a gap in seqs (a lost live message) is filled from the
    buffer, and so is a dropped subscription, once it is followed again. `fallback(slot)`
    gives the events of a slot whose buffer has expired (or is still empty), except in the
    first replay, which takes them from `opening` when it has the slot: the rows as read
    just before the relay subscribed, so a socket opened before the first token (the usual
    case) costs no query. `watch(pending)` runs every `watch_every` seconds while slots are
    pending (the watchdog that ends or restarts slots that lost their worker).

    A quiet relay (nothing live for `replay_when_idle` seconds) looks at its buffers' first
    and last events, and replays if they hold what it has not sent: the insurance against a
    lost last message, which no later seq would reveal. The watchdog and that look run once
    per interval per turn in a process, however many sockets follow the turn
    (`Follower.shared`): followers of one subscription miss the same messages.
    """

    redis: Redis
    fanout: Fanout
    turn_id: str
    slots: Iterable[str]
    after: dict[str, int] = field(default_factory=dict)
    fallback: Callable[[str], list[dict]] | None = None
    opening: dict[str, list[dict]] = field(default_factory=dict)
    watch: Callable[[list[str]], None] | None = None
    is_open: Callable[[], bool] = lambda: True
    poll: float = 1.0
    watch_every: float = 3.0
    replay_when_idle: float = 5.0
    join: bool = False  # join a slot's consecutive tokens into one message (`first_seq`)

    def __post_init__(self) -> None:
        self.state = {s: _SlotState(held=max(0, self.after.get(s, 0))) for s in self.slots}
        self._follower: Follower | None = None

    def _accept(self, raw: str) -> tuple[dict, bool, bool]:
        """Decide on one event: (the event, send it, a gap was seen)."""
        event = orjson.loads(raw)
        state = self.state.get(event.get("slot"))
        if state is None or state.ended:
            return event, False, False
        kind = event["type"]
        if kind == "token":
            if event["seq"] <= state.held:
                return event, False, False
            if event["seq"] > state.held + 1:
                return event, False, True
            state.held = event["seq"]
            return event, True, False
        if kind == "reset":
            reset_id = event.get("id")  # None in a buffer written before resets had ids
            if reset_id is not None and reset_id == state.reset_id:
                return event, False, False
            state.reset_id = reset_id
            state.held = 0
            return event, True, False
        if kind == "done" and event["seq"] > state.held:
            return event, False, True  # tokens before `done` went missing: fetch them first
        if kind in TERMINAL_TYPES:
            state.ended = True
            return event, True, False
        return event, False, False

    def _replay(self) -> Iterator[str]:
        outgoing = Outgoing(self.join)
        for slot, state in self.state.items():
            if state.ended:
                continue
            events = buffered_events(self.redis, self.turn_id, slot)
            if not events and slot in self.opening:
                events = [dump(e) for e in self.opening[slot]]
            elif not events and self.fallback is not None:
                events = [dump(e) for e in self.fallback(slot)]
            for raw in events:
                event, send, _ = self._accept(raw)
                if send:
                    outgoing.add(raw, event)
        yield from outgoing.messages()

    def _pending(self) -> list[str]:
        return [s for s, st in self.state.items() if not st.ended]

    def _missed(self, ends: dict[str, tuple[str, str] | None]) -> bool:
        """Whether the buffers' ends show an event this relay has not sent."""
        for slot, pair in ends.items():
            state = self.state.get(slot)
            if pair is None or state is None or state.ended:
                continue  # an empty buffer: nothing yet, or expired (the watchdog ends those)
            first, last = orjson.loads(pair[0]), orjson.loads(pair[1])
            if first["type"] == "reset" and first.get("id") != state.reset_id:
                return True  # a new attempt
            if last["type"] in TERMINAL_TYPES or last.get("seq", 0) > state.held:
                return True
        return False

    def _watch(self) -> None:
        assert self.watch is not None
        self.watch(self._pending())

    def _quiet_check(self, since: float) -> bool:
        """True when the turn's latest look at the buffers, taken after `since`, shows a miss."""
        assert self._follower is not None
        slots = list(self.state)
        when, ends = self._follower.shared(
            "ends", self.replay_when_idle, lambda: buffer_ends(self.redis, self.turn_id, slots)
        )
        return when > since and ends is not None and self._missed(ends)

    def __iter__(self) -> Iterator[str]:
        self._follower = self.fanout.follow(channel(self.turn_id))
        try:
            yield from self._follow()
        finally:
            self._follower.close()

    def _follow(self) -> Iterator[str]:
        yield from self._replay()
        self.opening = {}  # from now on the database is read afresh
        last_message = last_watch = last_look = time.monotonic()
        while self._pending() and self.is_open():
            now = time.monotonic()
            assert self._follower is not None  # set by __iter__, which runs this
            if self.watch is not None and now - last_watch >= self.watch_every:
                last_watch = now
                self._follower.shared("watch", self.watch_every, self._watch)
            try:
                message = self._follower.get(timeout=self.poll)
            except Lost:
                # The subscription dropped (Redis restart, slow-subscriber limit): follow
                # again and catch up from the buffer, which holds everything.
                self._follower = self.fanout.follow(channel(self.turn_id))
                yield from self._replay()
                continue
            if message is None:
                now = time.monotonic()
                if now - max(last_message, last_look) >= self.replay_when_idle:
                    if self._quiet_check(since=last_message):
                        yield from self._replay()
                    last_look = now
                continue
            last_message = time.monotonic()
            # For a client that asked, what else waits already goes out with it, joined.
            waiting = self._follower.drain() if self.join else []
            if not waiting:  # the usual case: one message, sent as it came
                _, send, gap = self._accept(message)
                if send:
                    yield message
            else:
                outgoing = Outgoing(join=True)
                for raw in [message, *waiting]:
                    event, send, gap = self._accept(raw)
                    if send:
                        outgoing.add(raw, event)
                    elif gap:
                        break  # the replay below sends the rest, from the buffer
                yield from outgoing.messages()
            if gap:
                yield from self._replay()
        if not self._pending():
            yield END_EVENT
