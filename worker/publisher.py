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
superseded; after a refusal or a Redis failure nothing more of that slot is sent.
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

    def text(self) -> str:
        """The slot's text as appended so far: what its clients receive."""
        return "".join(self.written)


class Publisher:
    """One thread per worker process that writes queued tokens, one pipeline per round."""

    def __init__(self, redis: Redis, interval: float = 0.0) -> None:
        self._redis = redis
        self._interval = interval  # seconds from the start of one round to the next
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
        while True:
            with self._cond:
                while not self._queued:
                    self._cond.wait()
            pause = self._round_started + self._interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)  # more tokens join this round meanwhile
            self._round_started = time.monotonic()
            with self._cond:
                batch = list(self._queued)
                self._queued.clear()
                messages, counts = [], []
                for outbox in batch:
                    messages.append("".join(outbox.texts))
                    counts.append(len(outbox.texts))
                    outbox.texts.clear()
                    outbox.in_flight = True
            try:
                results = self._write(batch, messages)
            except Exception as exc:  # never let the thread die with generations waiting on it
                log.exception("publishing tokens crashed")
                results = [exc] * len(batch)
            with self._cond:
                for outbox, result, count, message in zip(
                    batch, results, counts, messages, strict=True
                ):
                    outbox.in_flight = False
                    if isinstance(result, Exception):
                        outbox.failure = result
                    elif result:
                        outbox.writer.appended()
                        outbox.tokens += count
                        outbox.written.append(message)
                    else:
                        outbox.refused = True
                    if outbox.failure is not None or outbox.refused:
                        outbox.texts.clear()  # nothing more of this slot goes out
                        self._queued.pop(outbox, None)
                self._cond.notify_all()

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
