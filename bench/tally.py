"""What the benchmark's clients record: per stream (`Slot`) and per phase (`Tally`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.stamps import LATE_TICKS, token_lags


@dataclass
class Slot:
    """What one client received for one stream (a Duet slot or a direct upstream stream)."""

    t0_ns: int = 0  # request sent (Duet: the POST of the turn)
    first_ns: int = 0
    first_lag: int = 0  # the first token's age on arrival, in ticks
    last_lag: int = 0  # the last one's
    last_ns: int = 0
    tokens: int = 0
    messages: int = 0
    last_seq: int = 0
    seq_gaps: int = 0
    end: str = ""  # done / error / cancelled; "" = never ended
    detail: str = ""


@dataclass
class Tally:
    """A phase's measurements."""

    slots: list[Slot] = field(default_factory=list)
    lags: list[int] = field(default_factory=list)  # per token, in ticks
    late_ns: list[int] = field(default_factory=list)  # arrivals of tokens over LATE_TICKS
    errors: list[str] = field(default_factory=list)
    malformed: int = 0
    open_sockets: int = 0
    max_open: int = 0
    post_ms: list[float] = field(default_factory=list)  # POST of a turn until its 202
    upgrade_ms: list[float] = field(default_factory=list)  # websocket connect until its 101
    prompts: dict[str, int] = field(default_factory=dict)  # pair prompt -> POST sent (ns)
    # Bytes the clients received on their stream connections (websocket or SSE), response
    # heads and framing included: what the stream costs on the wire.
    wire_bytes: int = 0

    def tokens(self, slot: Slot, text: str, now: int) -> None:
        """Record one message's stamped tokens for `slot`, received at `now` (ns)."""
        if not text:
            return
        try:
            n = token_lags(text, now, self.lags)
        except ValueError as exc:
            self.malformed += 1
            self.error(str(exc))
            return
        if not slot.tokens:
            slot.first_ns, slot.first_lag = now, self.lags[-n]
        slot.tokens += n
        slot.last_ns, slot.last_lag = now, self.lags[-1]
        self.late_ns.extend(now for lag in self.lags[-n:] if lag > LATE_TICKS)

    def error(self, message: str) -> None:
        """Record an error (its first 300 characters)."""
        self.errors.append(message[:300])
