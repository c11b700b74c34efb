"""Publishing the tokens of every slot a worker process generates, in batches.

A generation thread does not call Redis for each token: it hands the text to the process's
`Publisher` and goes back to reading the model. One publisher thread writes what has piled
up, for all slots at once, in one pipelined round trip: while a round trip is in flight,
the next batch gathers. Rounds start at most once per `interval` (STREAM_PUBLISH_INTERVAL_MS):
a token that arrives after a quiet moment goes out at once, and under load the tokens of
an interval share one round trip, which costs the worker, Redis and the web process one
wake-up instead of one per token. A slot's texts that gathered together become one
token message (the contract allows several upstream tokens per message).

Order and fencing are those of `SlotWriter.token`: a slot's messages are appended in order,
one per round, each by the Lua call that refuses it once the slot is claimed or the attempt
superseded; after a refusal nothing more of that slot is sent.

Redis going away does not end a slot. A message whose append failed (Redis unreachable, or
the reply lost) is sent again, as it was, before anything queued after it, every `backoff`
seconds for up to `outage` seconds; the seq makes a second append of it a no-op. If Redis
came back empty, the append finds the slot's lease gone, and the slot is put back
(`SlotWriter.restore`: its lease and every event appended so far) before it is sent again.
Only a Redis that stays away longer than `outage` fails the slot.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import NoScriptError, RedisError

from app.streaming.protocol import SlotWriter, load_scripts

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Outbox:
    """A slot's side of the publisher: texts not yet written, and how writing went."""

    writer: SlotWriter
    texts: list[str] = field(default_factory=list)  # queued, not yet in a round
    in_flight: bool = False
    refused: bool = False  # the slot was claimed (cancelled, ended) or the attempt superseded
    failure: Exception | None = None
    tokens: int = 0  # upstream tokens appended (a message may carry several)
    written: list[str] = field(default_factory=list)  # the messages appended, in order
    # A message whose append failed: sent again, as it was, before any other text.
    again: tuple[str, int] | None = None  # (message, upstream tokens in it)
    failing_since: float | None = None  # when Redis first failed it (monotonic)
    restores: int = 0  # restores since the last message appended

    def text(self) -> str:
        """The slot's text as appended so far: what its clients receive."""
        return "".join(self.written)


class Publisher:
    """One thread per worker process that writes queued tokens, one pipeline per round."""

    def __init__(
        self, redis: Redis, interval: float = 0.0, outage: float = 0.0, backoff: float = 0.25
    ) -> None:
        self._redis = redis
        self._interval = interval  # seconds from the start of one round to the next
        self._outage = outage  # seconds a slot's messages are retried while Redis fails
        self._backoff = backoff  # seconds between rounds while Redis fails
        self._round_started = float("-inf")
        self._cond = threading.Condition()
        self._queued: dict[Outbox, None] = {}  # outboxes with texts, in arrival order
        self._thread: threading.Thread | None = None

    def open(self, writer: SlotWriter) -> Outbox:
        """The outbox of a slot's attempt."""
        with self._cond:
            self._start()  # per slot, here and in flush: per token it cost 1 % of the worker
        return Outbox(writer)

    def send(self, outbox: Outbox, text: str) -> bool:
        """Queue `text` for the slot; False once the slot refused a message. Raises the Redis
        error that stopped an earlier message."""
        if outbox.failure is not None:
            raise outbox.failure
        if outbox.refused:
            return False
        with self._cond:
            outbox.texts.append(text)
            self._queued[outbox] = None
            self._cond.notify()
        return True

    def flush(self, outbox: Outbox) -> bool:
        """Wait until everything sent for the slot is written; False if it was refused.
        Raises the Redis error that stopped a message."""
        with self._cond:
            self._start()  # the slot's texts get written even if the thread died meanwhile
            while outbox in self._queued or outbox.in_flight:
                self._cond.wait()
        if outbox.failure is not None:
            raise outbox.failure
        return not outbox.refused

    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, daemon=True, name="publisher")
            self._thread.start()

    def _run(self) -> None:
        failed = False
        while True:
            with self._cond:
                while not self._queued:
                    self._cond.wait()
            pause = self._round_started + (self._backoff if failed else self._interval)
            pause -= time.monotonic()
            if pause > 0:
                time.sleep(pause)  # more tokens join this round meanwhile
            self._round_started = time.monotonic()
            with self._cond:
                batch = list(self._queued)
                self._queued.clear()
                messages, counts = [], []
                for outbox in batch:
                    if outbox.again is not None:  # first, and alone: its seq is taken
                        message, count = outbox.again
                        if outbox.texts:
                            self._queued[outbox] = None
                    else:
                        message, count = "".join(outbox.texts), len(outbox.texts)
                        outbox.texts.clear()
                    messages.append(message)
                    counts.append(count)
                    outbox.in_flight = True
            try:
                results = self._write(batch, messages)
            except Exception as exc:  # never let the thread die with generations waiting on it
                log.exception("publishing tokens crashed")
                results = [exc] * len(batch)
            failed = False
            with self._cond:
                for outbox, result, count, message in zip(
                    batch, results, counts, messages, strict=True
                ):
                    outbox.in_flight = False
                    if result is _AGAIN:  # the slot was restored: send it at once
                        outbox.again = (message, count)
                        self._queued[outbox] = None
                    elif isinstance(result, RedisError) and self._retry(outbox, message, count):
                        failed = True
                    elif isinstance(result, Exception):
                        outbox.failure = result
                    elif result == 1:
                        outbox.writer.appended(message)
                        outbox.tokens += count
                        outbox.written.append(message)
                        outbox.again = outbox.failing_since = None
                        outbox.restores = 0
                    else:
                        outbox.refused = True
                    if outbox.failure is not None or outbox.refused:
                        outbox.texts.clear()  # nothing more of this slot goes out
                        self._queued.pop(outbox, None)
                self._cond.notify_all()

    def _retry(self, outbox: Outbox, message: str, count: int) -> bool:
        """Keep a message that Redis failed for the next round, unless Redis has failed the
        slot for longer than `outage`. Under the lock."""
        now = time.monotonic()
        outbox.failing_since = outbox.failing_since or now
        if now - outbox.failing_since >= self._outage:
            return False
        outbox.again = (message, count)
        self._queued[outbox] = None
        return True

    def _write(self, batch: list[Outbox], messages: list[str]) -> list[object]:
        """Append each outbox's message in one round trip; per outbox 1, 0 or the error."""
        pending = [(o, m) for o, m in zip(batch, messages, strict=True) if not _stopped(o)]
        results: dict[Outbox, object] = {o: 0 for o in batch if _stopped(o)}
        for _ in range(2):  # a second time only when Redis lost its scripts (a restart)
            pipe = self._redis.pipeline(transaction=False)
            for outbox, message in pending:
                outbox.writer.stage(pipe, message)
            try:
                replies = pipe.execute(raise_on_error=False)
            except RedisError as exc:
                log.warning("publishing tokens failed: %s", exc)
                replies = [exc] * len(pending)
            retry = []
            for (outbox, message), reply in zip(pending, replies, strict=True):
                if isinstance(reply, NoScriptError):
                    retry.append((outbox, message))
                elif reply == -1:  # the lease is gone (lapsed, or Redis restarted empty)
                    results[outbox] = _restored(outbox)
                else:
                    results[outbox] = reply
            if not retry:
                break
            try:
                load_scripts(self._redis)
            except RedisError as exc:
                results.update({o: exc for o, _ in retry})
                break
            pending = retry
        else:
            results.update({o: NoScriptError("the token script is missing") for o, _ in pending})
        return [results[o] for o in batch]


def _stopped(outbox: Outbox) -> bool:
    return outbox.refused or outbox.failure is not None


_AGAIN = object()  # a message to send again at once: its slot was just restored


def _restored(outbox: Outbox) -> object:
    """After an append found the slot's lease gone: restore the slot, and say to
    send the message again (_AGAIN), that it was refused (0), or the Redis error."""
    writer = outbox.writer
    outbox.restores += 1
    if outbox.restores > 3:  # restored, yet gone again at once: give the slot up
        return 0
    try:
        restored = writer.restore()
    except RedisError as exc:
        return exc
    if not restored:
        return 0
    log.info(
        "slot restored after Redis lost it" if restored == 2 else "slot lease retaken",
        extra={"turn": writer.turn_id, "slot": writer.slot, "attempt": writer.attempt},
    )
    return _AGAIN
