"""Tokens that carry their emit time: 4 characters per token, so a client computes each token's
latency (receive time - emit time, one clock, one machine) from the text alone, even when a
message carries several tokens."""

from __future__ import annotations

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
TOKEN_CHARS = 4
TICK_NS = 10_000  # 10 µs
WRAP = 64**TOKEN_CHARS  # 2^24 ticks = 167.77 s

LATE_TICKS = 500  # 5 ms: a token this late counts in the "late by second" figure


def encode_stamp(ns: int) -> str:
    """A 4-character token holding `ns` (time.time_ns()) in 10 µs units, modulo 2^24."""
    v = (ns // TICK_NS) % WRAP
    a = _ALPHABET
    return a[v >> 18] + a[(v >> 12) & 63] + a[(v >> 6) & 63] + a[v & 63]


def token_lags(text: str, recv_ns: int, out: list[int]) -> int:
    """Append, per 4-character token of `text`, its age at `recv_ns` in ticks; return the count.

    Raises ValueError when the text is not made of whole stamped tokens.
    """
    if len(text) % TOKEN_CHARS:
        raise ValueError(f"text of {len(text)} characters is not whole tokens")
    now = recv_ns // TICK_NS
    index = _INDEX
    try:
        for i in range(0, len(text), TOKEN_CHARS):
            v = (
                (index[text[i]] << 18)
                | (index[text[i + 1]] << 12)
                | (index[text[i + 2]] << 6)
                | index[text[i + 3]]
            )
            lag = (now - v) % WRAP
            out.append(lag - WRAP if lag > WRAP // 2 else lag)
    except KeyError as exc:
        raise ValueError(f"not a stamped token: {text!r}") from exc
    return len(text) // TOKEN_CHARS
