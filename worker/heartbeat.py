"""Renewing a slot's lease while its generation runs, even when the model is silent."""

from __future__ import annotations

import logging
import threading
from types import TracebackType

from redis.exceptions import RedisError

from app.streaming.protocol import SlotWriter

log = logging.getLogger(__name__)


class Heartbeat:
    """A daemon thread that renews the writer's lease every third of its length."""

    def __init__(self, writer: SlotWriter) -> None:
        self.writer = writer
        self.lost = threading.Event()  # set when another attempt took the slot over
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="slot-heartbeat")

    def _run(self) -> None:
        interval = self.writer.lease_ms / 3000
        while not self._stop.wait(interval):
            try:
                if not self.writer.renew():
                    self.lost.set()
                    return
            except RedisError as exc:  # keep trying: the lease outlives a short outage
                log.warning(
                    "heartbeat failed: %s",
                    exc,
                    extra={"turn": self.writer.turn_id, "slot": self.writer.slot},
                )

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
