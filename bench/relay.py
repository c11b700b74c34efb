"""Relay benchmark: what a paired turn costs through Duet, against reading the model directly.

    .venv/bin/python -m bench.relay                       # N = 1, 10, 50, 100, 200 pairs
    .venv/bin/python -m bench.relay --pairs 50 --tokens 100
    .venv/bin/python -m bench.relay --quick --json /tmp/r.json   # the CI smoke run (N=1)

Everything real except the model: gunicorn (gthread, as in the Procfile), Celery worker(s)
(gevent pool, as in the Procfile), Redis, the database; the model is a fixed-rate
OpenAI-compatible upstream run by this script in its own process. For each N it runs two
phases on the same upstream:

- baseline: 2N clients read the upstream directly (what a browser would get with no Duet);
- duet: N clients each POST a paired turn and read both slots over `/ws/turns/<tid>`.

Every upstream token is 4 characters that encode the time it was written (its emit time in
10 µs units, modulo 2^24, i.e. a 168 s window), so a client computes per-token latency
(receive time - emit time, one clock, one machine) from the text alone, even when a message
carries several tokens. "Added" figures are Duet's percentile minus the baseline's.

Figures only, no assertion: see bench/README.md for what each one means.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# ---------------------------------------------------------------------------------------------
# Tokens that carry their emit time
# ---------------------------------------------------------------------------------------------

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
TOKEN_CHARS = 4
TICK_NS = 10_000  # 10 µs
WRAP = 64**TOKEN_CHARS  # 2^24 ticks = 167.77 s

LATE_TICKS = 500  # 5 ms: a token this late counts in the "late by second" figure
PAIR_PROMPT = "benchmark pair "  # + index: how the upstream tells Duet's requests apart
WARMUP_PROMPT = "benchmark warm-up "  # answered with a single token


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


# ---------------------------------------------------------------------------------------------
# The fixed-rate upstream (runs in its own process: `--serve-upstream PORT`)
# ---------------------------------------------------------------------------------------------


class _UpstreamState:
    """Settings and counters of the upstream process (`GET /stats`, `POST /reset`)."""

    def __init__(self, tokens: int, rate: float) -> None:
        self.tokens, self.interval = tokens, 1.0 / rate
        self.next_id = 0
        self.open = 0  # streams being written now (a reset keeps it)
        self.reset()

    def reset(self) -> None:
        self.started = self.completed = self.aborted = self.emitted = 0
        self.first_emit_ns = self.last_emit_ns = 0
        self.late_ticks = 0  # token callbacks that ran more than 5 ms after their schedule
        self.arrivals: dict[str, list[int]] = {}  # Duet's requests: arrival times by prompt

    def stats(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "started",
                "completed",
                "aborted",
                "emitted",
                "first_emit_ns",
                "last_emit_ns",
                "late_ticks",
                "arrivals",
            )
        } | {"open": self.open}


def _frame(payload: str) -> bytes:
    """One SSE event as one HTTP chunk."""
    data = b"data: " + payload.encode() + b"\n\n"
    return b"%x\r\n%b\r\n" % (len(data), data)


_STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n"
)
KEEP_ALIVE_S = 5.0  # an idle connection is closed after this long, as uvicorn (vLLM) does


class _UpstreamConnection(asyncio.Protocol):
    """One connection. Chat completions stream: a role chunk, `tokens` content chunks at
    `rate` (scheduled on absolute times, so the rate does not drift), a final chunk with
    finish_reason "stop", `data: [DONE]`, the closing zero-length chunk; the connection then
    stays open for the next request (HTTP/1.1 keep-alive, closed after KEEP_ALIVE_S idle, as
    vLLM's uvicorn does). Other answers close it."""

    def __init__(self, state: _UpstreamState) -> None:
        self.state = state
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.handled = False
        self.streaming = False
        self.timer: asyncio.TimerHandle | None = None
        self.idle: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.handled:
            return
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            if len(self.buf) > 65536:
                self._reply(431, {"error": {"message": "headers too large"}})
            return
        lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
        method, path, _ = [*lines[0].split(" ", 2), "", ""][:3]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length") or 0)
        if len(self.buf) < end + 4 + length:
            return
        body = bytes(self.buf[end + 4 : end + 4 + length])
        del self.buf[: end + 4 + length]
        self.handled = True
        if self.idle is not None:
            self.idle.cancel()
        self._route(method, path.split("?", 1)[0], body)

    def _route(self, method: str, path: str, body: bytes) -> None:
        if method == "POST" and path.endswith("/chat/completions"):
            try:
                request = json.loads(body)
                model = str(request.get("model", ""))
                limit = request.get("max_tokens") or request.get("max_completion_tokens")
                prompt = request["messages"][-1]["content"]
            except (ValueError, AttributeError, LookupError, TypeError):
                return self._reply(400, {"error": {"message": "body must be a chat request"}})
            if isinstance(prompt, str) and prompt.startswith(PAIR_PROMPT):
                self.state.arrivals.setdefault(prompt, []).append(time.time_ns())
            count = self.state.tokens if not limit else min(self.state.tokens, int(limit))
            if isinstance(prompt, str) and prompt.startswith(WARMUP_PROMPT):
                count = 1
            return self._stream(model, count, "length" if count < self.state.tokens else "stop")
        if method == "GET" and path == "/stats":
            return self._reply(200, self.state.stats())
        if method == "POST" and path == "/reset":
            self.state.reset()
            return self._reply(200, self.state.stats())
        if method == "GET" and path.endswith("/models"):
            return self._reply(
                200, {"object": "list", "data": [{"id": "bench", "object": "model"}]}
            )
        return self._reply(404, {"error": {"message": f"no route {method} {path}"}})

    def _reply(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        head = (
            f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        )
        assert self.transport is not None
        self.transport.write(head.encode() + data)
        self.transport.close()

    def _stream(self, model: str, count: int, finish: str) -> None:
        state = self.state
        state.next_id += 1
        state.started += 1
        state.open += 1
        self.streaming = True
        base = {
            "id": f"chatcmpl-bench-{os.getpid()}-{state.next_id}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
        }
        pre = json.dumps(base, separators=(",", ":"))[:-1] + ',"choices":[{"index":0,"delta":'
        self.token_pre = pre + '{"content":"'
        self.token_post = '"},"logprobs":null,"finish_reason":null}]}'
        self.final = pre + '{},"logprobs":null,"finish_reason":"' + finish + '"}]}'
        role = pre + '{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}'
        assert self.transport is not None
        self.transport.write(_STREAM_HEAD + _frame(role))
        self.count, self.sent = count, 0
        self.loop = asyncio.get_running_loop()
        self.t0 = self.loop.time()
        self._schedule()

    def _schedule(self) -> None:
        self.due = self.t0 + (self.sent + 1) * self.state.interval
        self.timer = self.loop.call_at(self.due, self._emit)

    def _emit(self) -> None:
        transport, state = self.transport, self.state
        if transport is None or transport.is_closing():
            return
        if self.loop.time() - self.due > 0.005:
            state.late_ticks += 1
        ns = time.time_ns()
        transport.write(_frame(self.token_pre + encode_stamp(ns) + self.token_post))
        state.emitted += 1
        if not state.first_emit_ns:
            state.first_emit_ns = ns
        state.last_emit_ns = max(state.last_emit_ns, ns)
        self.sent += 1
        if self.sent < self.count:
            self._schedule()
            return
        transport.write(_frame(self.final) + _frame("[DONE]") + b"0\r\n\r\n")
        self.streaming = False
        state.completed += 1
        state.open -= 1
        self.handled = False  # keep-alive: the next request may come on this connection
        self.idle = self.loop.call_later(KEEP_ALIVE_S, transport.close)
        if self.buf:
            self.data_received(b"")

    def connection_lost(self, exc: Exception | None) -> None:
        for timer in (self.timer, self.idle):
            if timer is not None:
                timer.cancel()
        if self.streaming:
            self.state.aborted += 1
            self.state.open -= 1
            self.streaming = False
        self.transport = None


def serve_upstream(host: str, port: int, tokens: int, rate: float) -> None:
    """Run the upstream in the foreground until SIGTERM/SIGINT."""

    async def main() -> None:
        state = _UpstreamState(tokens, rate)
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: _UpstreamConnection(state), host, port, backlog=4096, reuse_address=True
        )
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        print(f"upstream on http://{host}:{port}: {tokens} tokens at {rate:g}/s", flush=True)
        async with server:
            await stop.wait()

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------
# Clients (asyncio protocols; receive times are taken when bytes arrive)
# ---------------------------------------------------------------------------------------------


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

    def tokens(self, slot: Slot, text: str, now: int) -> None:
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
        self.errors.append(message[:300])


def take_head(buf: bytearray, status: bytes) -> bytes | None:
    """Cut a complete HTTP response head off `buf` and return it lower-cased, or None while
    it is incomplete. Raises ValueError (its text an excerpt of the head) when the status
    line does not start with `status` (lower case)."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end])
    if not head.lower().startswith(status):
        raise ValueError(repr(head[:80]))
    del buf[: end + 4]
    return head.lower()


class _SseClient(asyncio.Protocol):
    """A direct read of one upstream stream (the baseline)."""

    def __init__(self, request: bytes, slot: Slot, tally: Tally) -> None:
        self.request, self.slot, self.tally = request, slot, tally
        self.buf, self.sse = bytearray(), bytearray()
        self.head_done = self.chunked = False
        self.finish: str | None = None
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        buf = self.buf
        buf += data
        if not self.head_done:
            try:
                head = take_head(buf, b"http/1.1 200")
            except ValueError as exc:
                self.tally.error(f"upstream answered {exc}")
                self._close()
                return
            if head is None:
                return
            self.chunked = b"transfer-encoding: chunked" in head
            self.head_done = True
        if self.chunked:
            pos = 0
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    break
                size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
                if size == 0:
                    pos = len(buf)
                    break
                if len(buf) < eol + 2 + size + 2:
                    break
                self.sse += buf[eol + 2 : eol + 2 + size]
                pos = eol + 4 + size
            del buf[:pos]
        else:
            self.sse += buf
            buf.clear()
        sse, pos = self.sse, 0
        while (end := sse.find(b"\n\n", pos)) >= 0:
            for line in bytes(sse[pos:end]).split(b"\n"):
                if line.startswith(b"data:"):
                    self._payload(line[5:].strip(), now)
            pos = end + 2
        del sse[:pos]

    def _payload(self, payload: bytes, now: int) -> None:
        if payload == b"[DONE]":
            self.slot.end = "done" if self.finish else "error"
            self.slot.detail = self.finish or "[DONE] without finish_reason"
            self._close()
            return
        choice = json.loads(payload)["choices"][0]
        text = (choice.get("delta") or {}).get("content")
        if text:
            self.slot.messages += 1
            self.tally.tokens(self.slot, text, now)
        if choice.get("finish_reason"):
            self.finish = choice["finish_reason"]

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


class _WsClient(asyncio.Protocol):
    """A browser's websocket on `/ws/turns/<tid>` (RFC 6455 client, no extensions)."""

    def __init__(self, host: str, path: str, cookie: str, slots: dict[str, Slot], tally: Tally):
        self.host, self.path, self.cookie, self.slots, self.tally = host, path, cookie, slots, tally
        self.buf = bytearray()
        self.opened = self.got_end = False
        self.close_code: int | None = None
        self.fragments: list[bytes] = []
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.t_connect = time.time_ns()
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Cookie: {self.cookie}\r\n\r\n"
        )
        self.transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        buf = self.buf
        buf += data
        if not self.opened:
            try:
                head = take_head(buf, b"http/1.1 101")
            except ValueError as exc:
                self.tally.error(f"websocket upgrade refused: {exc}")
                self._close()
                return
            if head is None:
                return
            self.opened = True
            self.tally.upgrade_ms.append((now - self.t_connect) / 1e6)
        pos, size = 0, len(buf)
        while size - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            length, at = b1 & 0x7F, pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length, at = int.from_bytes(buf[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, at = int.from_bytes(buf[pos + 2 : pos + 10], "big"), pos + 10
            mask = None
            if b1 & 0x80:
                mask, at = bytes(buf[at : at + 4]), at + 4
            if size < at + length:
                break
            payload = bytes(buf[at : at + length])
            if mask:
                payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
            pos = at + length
            self._frame(b0 & 0x80, b0 & 0x0F, payload, now)
        del buf[:pos]

    def _frame(self, fin: int, opcode: int, payload: bytes, now: int) -> None:
        if opcode in (0x1, 0x2, 0x0):
            self.fragments.append(payload)
            if fin:
                message, self.fragments = b"".join(self.fragments), []
                self._message(message, now)
        elif opcode == 0x8:  # close: echo it, then hang up
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else None
            self._send(0x8, payload[:2])
            self._close()
        elif opcode == 0x9:
            self._send(0xA, payload)

    def _message(self, raw: bytes, now: int) -> None:
        event = json.loads(raw)
        kind = event.get("type")
        if kind == "end":
            self.got_end = True
            return
        slot = self.slots.get(event.get("slot"))
        if slot is None:
            return
        if kind == "token":
            slot.messages += 1
            if event["seq"] != slot.last_seq + 1:
                slot.seq_gaps += 1
            slot.last_seq = event["seq"]
            self.tally.tokens(slot, event["text"], now)
        elif kind in ("done", "error", "cancelled"):
            slot.end = kind
            slot.detail = str(event.get("finish_reason") or event.get("message") or "")
            if kind != "done":
                self.tally.error(f"slot {event['slot']}: {kind}: {slot.detail}")
        elif kind == "reset":  # a new attempt: the browser drops what it had of the slot
            slot.tokens = slot.last_seq = 0
            self.tally.error(f"slot {event['slot']} was reset")

    def _send(self, opcode: int, payload: bytes) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        masked = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def _close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def http(
    host: str, port: int, method: str, path: str, body: Any = None, cookies: dict | None = None
) -> tuple[int, bytes]:
    """One HTTP/1.1 request on its own connection; Set-Cookie values go into `cookies`."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        payload = b"" if body is None else json.dumps(body).encode()
        head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: close"]
        if method != "GET":
            head += ["Content-Type: application/json", f"Content-Length: {len(payload)}"]
        if cookies:
            head.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in cookies.items()))
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        raw_head = await reader.readuntil(b"\r\n\r\n")
        lines = raw_head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length, chunked = None, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie" and cookies is not None:
                key, _, val = value.split(";", 1)[0].partition("=")
                cookies[key.strip()] = val.strip()
            elif name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if length is not None:
            data = await reader.readexactly(length)
        elif chunked:
            parts = []
            while size := int((await reader.readline()).split(b";")[0], 16):
                parts.append(await reader.readexactly(size))
                await reader.readline()
            data = b"".join(parts)
        else:
            data = await reader.read()
        return status, data
    finally:
        writer.close()


def _offsets(pairs: int, ramp: float) -> list[float]:
    """Start offsets spreading `pairs` arrivals evenly over `ramp` seconds."""
    return [ramp * i / pairs for i in range(pairs)]


async def _baseline_phase(cfg: Config, pairs: int, up_port: int) -> Tally:
    """2N direct streams, started in pairs at the same offsets as the Duet phase."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    start = loop.time() + 0.05
    deadline = start + cfg.ramp + cfg.stream_s + cfg.slack

    async def one(offset: float, prefix: str) -> None:
        await asyncio.sleep(max(0.0, start + offset - loop.time()))
        slot = Slot()
        tally.slots.append(slot)
        body = json.dumps(
            {
                "model": f"bench-{prefix}",
                "messages": [{"role": "user", "content": "benchmark"}],
                "stream": True,
                "max_tokens": cfg.max_tokens,
            }
        ).encode()
        request = (
            f"POST /{prefix}/v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:{up_port}\r\n"
            f"Content-Type: application/json\r\nAccept: text/event-stream\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        transport = None
        slot.t0_ns = time.time_ns()
        try:
            transport, proto = await loop.create_connection(
                lambda: _SseClient(request, slot, tally), "127.0.0.1", up_port
            )
            await asyncio.wait_for(asyncio.shield(proto.done), max(0.1, deadline - loop.time()))
        except TimeoutError:
            tally.error("baseline stream: not finished at the phase deadline")
        except OSError as exc:
            tally.error(f"baseline stream: {type(exc).__name__}: {exc}")
        finally:
            if transport is not None:
                transport.close()

    await asyncio.gather(*(one(o, p) for o in _offsets(pairs, cfg.ramp) for p in ("a", "b")))
    return tally


async def _prepare(
    base: tuple[str, int], pairs: int, jars: list[dict] | None = None
) -> list[tuple[dict, str]]:
    """One browser per pair with a new conversation. Browsers (cookie jars) in `jars` are
    reused, and the ones made here (cookie from `GET /`) are added to it."""
    jars = [] if jars is None else jars
    sem = asyncio.Semaphore(32)

    async def one(i: int) -> tuple[dict, str]:
        async with sem:
            if i < len(jars):
                cookies = jars[i]
            else:
                cookies = {}
                status, _ = await http(*base, "GET", "/", cookies=cookies)
                if status != 200:
                    raise RuntimeError(f"GET / answered {status}")
            status, body = await http(*base, "POST", "/api/conversations", {}, cookies)
            if status != 201:
                raise RuntimeError(f"POST /api/conversations answered {status}: {body[:200]!r}")
            return cookies, json.loads(body)["id"]

    browsers = await asyncio.gather(*(one(i) for i in range(pairs)))
    jars.extend(cookies for cookies, _ in browsers[len(jars) :])
    return browsers


async def _duet_phase(
    cfg: Config,
    base: tuple[str, int],
    browsers: list[tuple[dict, str]],
    sampler: Sampler | None,
    *,
    prompt: str = PAIR_PROMPT,
    ramp: float | None = None,
) -> Tally:
    """N paired turns: POST the turn, open its websocket, read both slots to the end."""
    loop = asyncio.get_running_loop()
    tally = Tally()
    ramp = cfg.ramp if ramp is None else ramp
    start = loop.time() + 0.05
    deadline = start + ramp + cfg.stream_s + cfg.slack
    host, port = base

    async def one(index: int, offset: float, cookies: dict, cid: str) -> None:
        await asyncio.sleep(max(0.0, start + offset - loop.time()))
        slots = {"a": Slot(), "b": Slot()}
        tally.slots.extend(slots.values())
        t0 = time.time_ns()
        for slot in slots.values():
            slot.t0_ns = t0
        transport = None
        try:
            content = {"content": f"{prompt}{index}", "mode": "pair"}
            tally.prompts[content["content"]] = t0
            status, body = await asyncio.wait_for(
                http(host, port, "POST", f"/api/conversations/{cid}/turns", content, cookies),
                max(0.1, deadline - loop.time()),
            )
            tally.post_ms.append((time.time_ns() - t0) / 1e6)
            if status != 202:
                tally.error(f"POST turn answered {status}: {body[:200]!r}")
                return
            turn = json.loads(body)
            cookie = "; ".join(f"{k}={v}" for k, v in cookies.items())
            path = f"/ws/turns/{turn['id']}"
            transport, proto = await loop.create_connection(
                lambda: _WsClient(f"{host}:{port}", path, cookie, slots, tally), host, port
            )
            tally.open_sockets += 1
            tally.max_open = max(tally.max_open, tally.open_sockets)
            try:
                await asyncio.wait_for(asyncio.shield(proto.done), max(0.1, deadline - loop.time()))
            finally:
                tally.open_sockets -= 1
            if not proto.got_end:
                tally.error(f"socket closed without end (close code {proto.close_code})")
        except TimeoutError:
            tally.error("duet pair: not finished at the phase deadline")
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            tally.error(f"duet pair: {type(exc).__name__}: {exc}")
        finally:
            if transport is not None:
                transport.close()

    offsets = _offsets(len(browsers), ramp)
    runs = [one(i, offsets[i], c, cid) for i, (c, cid) in enumerate(browsers)]
    if sampler is None:
        await asyncio.gather(*runs)
    else:
        watch = asyncio.create_task(sampler.watch(tally))
        try:
            await asyncio.gather(*runs)
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
    return tally


# ---------------------------------------------------------------------------------------------
# Processes: /proc readings
# ---------------------------------------------------------------------------------------------

_CLK = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> tuple[int, float] | None:
    """(ppid, CPU seconds) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2 :].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _CLK


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            st = _stat(int(entry))
            if st is not None:
                children.setdefault(st[0], []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes have used so far."""
    return sum(st[1] for st in map(_stat, pids) if st is not None)


def run_queue_seconds(pids: list[int]) -> float | None:
    """Seconds the processes' living threads have spent runnable but waiting for a CPU
    (`/proc/<pid>/task/*/schedstat`), or None where the kernel does not keep it."""
    total, seen = 0, False
    for pid in pids:
        try:
            tasks = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[1])
                    seen = True
            except (OSError, IndexError, ValueError):
                pass
    return total / 1e9 if seen else None


def rss_kib(pids: list[int]) -> int:
    """Summed resident set size of the processes, in KiB."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        values = [int(v) for v in f.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    total = sum(values[:8])  # guest time is already counted in user
    return (total - idle) / _CLK, total / _CLK


class Sampler:
    """Polls the web processes' RSS during the Duet phase."""

    def __init__(self, web_pids: list[int], idle_kib: int, every: float = 0.1) -> None:
        self.web_pids, self.every = web_pids, every
        self.idle_kib = idle_kib  # after the warm-up, before the first N
        self.peak_kib = rss_kib(web_pids)
        self.open_at_peak = 0

    async def watch(self, tally: Tally) -> None:
        while True:
            kib = rss_kib(self.web_pids)
            if kib > self.peak_kib:
                self.peak_kib, self.open_at_peak = kib, tally.open_sockets
            await asyncio.sleep(self.every)


# ---------------------------------------------------------------------------------------------
# The sweep
# ---------------------------------------------------------------------------------------------


@dataclass
class Config:
    pairs: list[int]
    tokens: int
    rate: float
    ramp: float
    slack: float
    duration_cap: float
    web_procs: int
    web_threads: int  # per process; 0 = pairs + 16
    worker_procs: int
    worker_concurrency: int  # per process; 0 = enough threads for the largest N
    worker_pool: str  # Celery's --pool: gevent (the Procfile's) or threads
    web_pool: str  # gunicorn's worker class: gthread or gevent
    database_url: str | None
    redis_url: str
    json_path: Path
    max_tokens: int
    keep: bool
    extra_env: dict[str, str]

    @property
    def stream_s(self) -> float:
        return self.tokens / self.rate

    def threads_for(self, pairs: int) -> int:
        return self.web_threads or pairs + 16

    def worker_threads(self) -> int:
        if self.worker_concurrency:
            return self.worker_concurrency
        return max(8, math.ceil((2 * max(self.pairs) + 8) / self.worker_procs))


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (0 <= q <= 1), None for no values."""
    if not values:
        return None
    s = sorted(values)
    k = (len(s) - 1) * q
    f = math.floor(k)
    c = min(f + 1, len(s) - 1)
    return s[f] + (s[c] - s[f]) * (k - f)


def _pcts(values: list[float]) -> dict:
    return {"p50": _r(percentile(values, 0.5)), "p99": _r(percentile(values, 0.99))}


def _added(duet: dict, base: dict) -> dict:
    return {k: None if duet[k] is None or base[k] is None else _r(duet[k] - base[k]) for k in duet}


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def machine_info() -> dict:
    model, mhz = "unknown", None
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name") and model == "unknown":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("cpu MHz") and mhz is None:
                mhz = float(line.split(":", 1)[1])
    mem_kib = 0
    with contextlib.suppress(OSError), open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "cpu_mhz": mhz,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": [float(v) for v in os.getloadavg()],
    }


def _summarise(
    cfg: Config,
    pairs: int,
    base: Tally,
    duet: Tally,
    base_up: dict,
    duet_up: dict,
    cpu: dict,
    base_cpu: dict,
    waits: dict,
    sampler: Sampler,
    phases: dict,
    threads: int,
) -> dict:
    tick_ms = TICK_NS / 1e6

    def rate(tokens: int, first: int, last: int) -> float | None:
        return tokens / ((last - first) / 1e9) if last > first else None

    def delivered(t: Tally) -> tuple[int, float | None]:
        got = [s for s in t.slots if s.tokens]
        n = sum(s.tokens for s in got)
        if not got:
            return 0, None
        return n, rate(n, min(s.first_ns for s in got), max(s.last_ns for s in got))

    d_tokens, d_rate = delivered(duet)
    b_tokens, b_rate = delivered(base)
    up_rate = rate(duet_up["emitted"], duet_up["first_emit_ns"], duet_up["last_emit_ns"])
    bup_rate = rate(base_up["emitted"], base_up["first_emit_ns"], base_up["last_emit_ns"])
    expected = 2 * pairs * cfg.tokens
    retention = _retention(duet, expected)
    b_retention = _retention(base, expected)

    ttft_d = [(s.first_ns - s.t0_ns) / 1e6 for s in duet.slots if s.tokens]
    ttft_b = [(s.first_ns - s.t0_ns) / 1e6 for s in base.slots if s.tokens]
    lat_d = [v * tick_ms for v in duet.lags]
    lat_b = [v * tick_ms for v in base.lags]
    ttft = {"duet": _pcts(ttft_d), "baseline": _pcts(ttft_b)}
    ttft["added"] = _added(ttft["duet"], ttft["baseline"])
    lat = {"duet": _pcts(lat_d), "baseline": _pcts(lat_b)}
    lat["added"] = _added(lat["duet"], lat["baseline"])
    lat["duet"]["max"] = _r(max(lat_d)) if lat_d else None
    lat["baseline"]["max"] = _r(max(lat_b)) if lat_b else None
    # Where Duet's time to first token goes: the POST, Celery until the worker calls the
    # model, the model's own first token (the baseline's TTFT), and the relay of that token.
    dispatch = [
        (at - duet.prompts[prompt]) / 1e6
        for prompt, times in duet_up["arrivals"].items()
        if prompt in duet.prompts
        for at in sorted(times)[:2]  # a slot restarted by the watchdog asks again
    ]
    ttft["breakdown"] = {
        "post_turn": _pcts(duet.post_ms),
        "post_to_upstream_request": _pcts(dispatch),
        "first_token_relay": _pcts([s.first_lag * tick_ms for s in duet.slots if s.tokens]),
        "websocket_upgrade": _pcts(duet.upgrade_ms),
    }

    # When the late tokens arrived, by second since the first request: the arrivals
    # (first seconds), the steady streaming, or the endings.
    began = min((sl.t0_ns for sl in duet.slots if sl.t0_ns), default=0)
    late = Counter((t - began) // 10**9 for t in duet.late_ns)
    lat["late_by_second"] = [late[s] for s in range(max(late, default=-1) + 1)]

    def outcome(t: Tally) -> dict:
        ends = [s.end for s in t.slots]
        return {
            "streams": len(t.slots),
            "done": ends.count("done"),
            "error": ends.count("error"),
            "cancelled": ends.count("cancelled"),
            "incomplete": ends.count(""),
            "short": sum(1 for s in t.slots if s.tokens != cfg.tokens),
            "seq_gaps": sum(s.seq_gaps for s in t.slots),
            "malformed": t.malformed,
        }

    web_cpu = cpu["web"]
    messages = sum(s.messages for s in duet.slots)
    growth = max(0, sampler.peak_kib - sampler.idle_kib)
    busy = cpu["machine_busy"]
    ours = sum(v for k, v in cpu.items() if k not in ("machine_busy", "machine_total"))
    return {
        "pairs": pairs,
        "retention": round(retention, 4),
        "throughput_tokens_per_s": {
            "upstream": _r(up_rate, 1),
            "delivered": _r(d_rate, 1),
            "nominal": round(2 * pairs * cfg.rate, 1),
            "baseline_upstream": _r(bup_rate, 1),
            "baseline_delivered": _r(b_rate, 1),
            "baseline_retention": round(b_retention, 4),
            # over the whole phase, first to last token: also counts streams started late
            "phase_ratio": round(d_rate / bup_rate, 4) if d_rate and bup_rate else 0.0,
        },
        "tokens": {
            "expected": expected,
            "emitted_upstream": duet_up["emitted"],
            "delivered": d_tokens,
            "delivered_fraction": round(d_tokens / expected, 4),
            "baseline_emitted_upstream": base_up["emitted"],
            "baseline_delivered": b_tokens,
            "messages": messages,
            "upstream_late_ticks": duet_up["late_ticks"],
        },
        "ttft_ms": ttft,
        "token_latency_ms": lat,
        "web_cpu_s_per_1k_tokens": _r(web_cpu / (d_tokens / 1000), 4) if d_tokens else None,
        "rss_per_socket_kib": _r(growth / pairs, 1),
        "web_rss_mib": {
            "idle": _r(sampler.idle_kib / 1024, 1),
            "peak": _r(sampler.peak_kib / 1024, 1),
            "open_sockets_at_peak": sampler.open_at_peak,
        },
        "peak_open_sockets": duet.max_open,
        "cpu_s": {k: _r(v, 2) for k, v in cpu.items()},
        # CPU milliseconds per token delivered: what each part costs, whatever the load.
        "cpu_ms_per_token": {
            k: _r(1000 * v / d_tokens, 3) if d_tokens else None
            for k, v in cpu.items()
            if k in ("web", "worker", "redis", "upstream", "bench_clients")
        },
        "baseline_cpu_ms_per_token": {
            k: _r(1000 * v / b_tokens, 3) if b_tokens else None
            for k, v in base_cpu.items()
            if k in ("upstream", "bench_clients")
        },
        "cpu_cores_busy": {
            k: _r(v / phases["duet"], 2)
            for k, v in {**cpu, "other": max(0.0, busy - ours)}.items()
            if k != "machine_total"
        },
        # Runnable but not running: how long each part waited for a CPU during the phase,
        # per phase second. On a full machine the tail latencies come from here.
        "cpu_cores_waiting": {
            k: None if v is None else _r(v / phases["duet"], 2) for k, v in waits.items()
        },
        "phase_s": {k: _r(v, 2) for k, v in phases.items()},
        "duet": outcome(duet),
        "baseline": outcome(base),
        "errors": sorted(set(duet.errors + base.errors))[:8],
        "web": {"processes": cfg.web_procs, "threads_per_process": threads},
        "loadavg": [float(v) for v in os.getloadavg()],
    }


def _retention(tally: Tally, expected: int) -> float:
    """Tokens/s delivered ÷ tokens/s produced, in stream-seconds: per stream, the model
    produced its tokens between its first and last emit, and the client got them between its
    first and last receive (emit = receive - lag, from the stamps). Summed over streams, the
    ratio of the two rates is (sum of emit spans) ÷ (sum of receive spans). Times the share of
    the expected tokens delivered, so lost, cut or never-started streams count against it."""
    emit = recv = 0
    for slot in tally.slots:
        if slot.tokens > 1:
            recv += slot.last_ns - slot.first_ns
            emit += (slot.last_ns - slot.last_lag * TICK_NS) - (
                slot.first_ns - slot.first_lag * TICK_NS
            )
    delivered = sum(s.tokens for s in tally.slots)
    if not recv or not expected:
        return 0.0
    return round(emit / recv * min(1.0, delivered / expected), 4)


def _capacity(runs: list[dict]) -> int | None:
    """The largest N such that it and every smaller N held retention >= 0.99, added per-token
    latency p99 <= 50 ms, and every slot done."""
    best = None
    for run in sorted((r for r in runs if not r.get("skipped")), key=lambda r: r["pairs"]):
        added = run["token_latency_ms"]["added"]["p99"]
        ok = (
            run["retention"] >= 0.99
            and added is not None
            and added <= 50
            and run["duet"]["done"] == run["duet"]["streams"]
        )
        if not ok:
            break
        best = run["pairs"]
    return best


def _targets(runs: list[dict]) -> dict:
    by = {r["pairs"]: r for r in runs if not r.get("skipped")}

    def check(n: int, value: Any, limit: float, above: bool) -> dict:
        if n not in by or value is None:
            return {"pairs": n, "value": None, "met": None}
        return {"pairs": n, "value": value, "met": value >= limit if above else value <= limit}

    r100, r50 = by.get(100), by.get(50)
    return {
        "retention_at_100_pairs_ge_0.99": check(100, r100 and r100["retention"], 0.99, above=True),
        "added_token_latency_p99_at_50_pairs_le_10ms": check(
            50, r50 and r50["token_latency_ms"]["added"]["p99"], 10, above=False
        ),
        "added_ttft_p50_le_25ms": {
            str(n): check(n, r["ttft_ms"]["added"]["p50"], 25, above=False)["met"]
            for n, r in sorted(by.items())
        },
    }


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(result: dict) -> None:
    m = result["machine"]
    print()
    print(
        f"Machine: {m['cores']} cores ({m['cores_usable']} usable), {m['cpu_model']}, "
        f"{m['memory_gib']} GiB; Python {m['python']}; load average at start "
        f"{' '.join(f'{v:.2f}' for v in m['loadavg_at_start'])}"
    )
    s = result["settings"]
    print(
        f"Upstream: {s['tokens']} tokens x {TOKEN_CHARS} chars at {s['rate']:g} tokens/s per "
        f"stream; arrivals over {s['ramp']:g} s; web {s['web_procs']} gunicorn {s['web_pool']} "
        f"processes; {s['worker_procs']} Celery worker process(es) x {s['worker_threads']} "
        f"{s['worker_pool']}; {s['database']}"
    )
    head = (
        f"{'pairs':>5} | {'retention':>9} | {'TTFT +p50':>9} {'+p99':>7} | {'token +p50':>10} "
        f"{'+p99':>7} | {'web CPU':>7} | {'RSS/sock':>8} | {'slots ok':>9}"
    )
    units = (
        f"{'':>5} | {'':>9} | {'ms':>9} {'ms':>7} | {'ms':>10} {'ms':>7} | {'s/1k':>7} |"
        f" {'KiB':>8} | {'':>9}"
    )
    print()
    print(head)
    print(units)
    print("-" * len(head))
    for r in result["runs"]:
        if r.get("skipped"):
            print(f"{r['pairs']:>5} | skipped: {r['skipped']}")
            continue
        ta, la = r["ttft_ms"]["added"], r["token_latency_ms"]["added"]
        ok = f"{r['duet']['done']}/{r['duet']['streams']}"
        print(
            f"{r['pairs']:>5} | {r['retention']:>9.3f} | {_fmt(ta['p50']):>9} {_fmt(ta['p99']):>7}"
            f" | {_fmt(la['p50']):>10} {_fmt(la['p99']):>7} | "
            f"{_fmt(r['web_cpu_s_per_1k_tokens'], 3):>7} | {_fmt(r['rss_per_socket_kib'], 0):>8}"
            f" | {ok:>9}"
        )
    print()
    print("Raw figures (Duet / direct baseline), and where the CPU went during the Duet phase")
    print("(cores busy = CPU seconds / phase seconds):")
    for r in result["runs"]:
        if r.get("skipped"):
            continue
        t, lat, c = r["ttft_ms"], r["token_latency_ms"], r["cpu_cores_busy"]
        tp = r["throughput_tokens_per_s"]
        print(
            f"  N={r['pairs']:<4} TTFT p50 {_fmt(t['duet']['p50'])}/{_fmt(t['baseline']['p50'])}"
            f" p99 {_fmt(t['duet']['p99'])}/{_fmt(t['baseline']['p99'])} ms; token p50 "
            f"{_fmt(lat['duet']['p50'], 2)}/{_fmt(lat['baseline']['p50'], 2)} p99 "
            f"{_fmt(lat['duet']['p99'], 2)}/{_fmt(lat['baseline']['p99'], 2)} max "
            f"{_fmt(lat['duet']['max'])}/{_fmt(lat['baseline']['max'])} ms; tokens/s delivered "
            f"{_fmt(tp['delivered'], 0)}, model produced {_fmt(tp['baseline_upstream'], 0)} "
            f"direct, {_fmt(tp['upstream'], 0)} for Duet (nominal {_fmt(tp['nominal'], 0)})"
        )
        print(
            "          cores busy: "
            + ", ".join(f"{k} {_fmt(v, 2)}" for k, v in c.items())
            + f"; web RSS {_fmt(r['web_rss_mib']['idle'])} -> {_fmt(r['web_rss_mib']['peak'])}"
            f" MiB; {r['tokens']['delivered']}/{r['tokens']['expected']} tokens"
        )
        print(
            "          cores waiting for a CPU (runnable, not running): "
            + ", ".join(f"{k} {_fmt(v, 2)}" for k, v in r["cpu_cores_waiting"].items())
        )
        b = t["breakdown"]
        print(
            "          TTFT p50 parts: POST "
            f"{_fmt(b['post_turn']['p50'])}, POST -> model request "
            f"{_fmt(b['post_to_upstream_request']['p50'])}, first token relay "
            f"{_fmt(b['first_token_relay']['p50'])} ms (p99 "
            f"{_fmt(b['post_turn']['p99'])}, {_fmt(b['post_to_upstream_request']['p99'])}, "
            f"{_fmt(b['first_token_relay']['p99'])})"
        )
        late = lat["late_by_second"]
        print(
            f"          tokens over {LATE_TICKS * TICK_NS / 1e6:g} ms late: {sum(late)} of "
            f"{r['tokens']['delivered']}"
            + (f", by second since the first request: {late}" if late else "")
        )
        print(
            "          CPU ms per token delivered: "
            + ", ".join(f"{k} {_fmt(v, 3)}" for k, v in r["cpu_ms_per_token"].items())
            + " (direct baseline: "
            + ", ".join(f"{k} {_fmt(v, 3)}" for k, v in r["baseline_cpu_ms_per_token"].items())
            + ")"
        )
        if r["errors"]:
            print("          errors: " + " | ".join(r["errors"][:3]))
    cap = result["capacity"]
    print()
    print(
        f"Capacity: {cap['pairs'] if cap['pairs'] is not None else 'none'} pairs "
        f"({cap['criteria']})"
    )
    for name, t in result["targets"].items():
        if "pairs" in t:
            print(f"Target {name}: {_fmt(t['value'], 3)} -> {_verdict(t['met'])}")
        else:
            print(f"Target {name}: " + ", ".join(f"N={n} {_verdict(v)}" for n, v in t.items()))


def _verdict(met: bool | None) -> str:
    return "not measured" if met is None else ("met" if met else "MISSED")


def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=3)


def _redis_cpu(client) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def _cpu_snapshot(pids: dict[str, list[int]], redis_client) -> dict[str, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    snap = {name: cpu_seconds(p) for name, p in pids.items()}
    snap["redis"] = _redis_cpu(redis_client)
    snap["bench_clients"] = usage.ru_utime + usage.ru_stime
    snap["machine_busy"], snap["machine_total"] = machine_busy()
    return snap


def _wait_snapshot(pids: dict[str, list[int]]) -> dict[str, float | None]:
    return {name: run_queue_seconds(p) for name, p in pids.items()}


def _waited(before: dict, after: dict) -> dict[str, float | None]:
    return {
        k: None if before[k] is None or after[k] is None else max(0.0, after[k] - before[k])
        for k in before
    }


def _migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env={**env, "FLASK_APP": "wsgi"},
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"flask db upgrade failed:\n{done.stdout}\n{done.stderr}")


def run(cfg: Config) -> dict:
    """Start the stack, run the sweep, stop everything; returns the results."""
    from tests.stack import Process, free_port, start_web, start_worker, wait_for_http

    began = time.monotonic()
    machine = machine_info()
    print(
        f"Duet relay benchmark on {machine['cores']} cores ({machine['cpu_model']}), "
        f"load average {machine['loadavg_at_start'][0]:.2f}; pairs {cfg.pairs}",
        flush=True,
    )
    run_dir = Path(tempfile.mkdtemp(prefix="duet-bench-"))
    logs = run_dir / "logs"
    logs.mkdir()
    redis_client = _redis(cfg.redis_url)
    try:
        redis_client.ping()
    except Exception as exc:
        raise RuntimeError(
            f"Redis does not answer at {cfg.redis_url} (scripts/ensure-redis)"
        ) from exc
    redis_client.flushdb()

    database_url = cfg.database_url or f"sqlite:///{run_dir / 'bench.sqlite3'}"
    up_port = free_port()
    endpoints = [
        {"name": f"bench-{p}", "base_url": f"http://127.0.0.1:{up_port}/{p}/v1", "model": f"m-{p}"}
        for p in ("a", "b")
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUET_", "FLASK_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": cfg.redis_url,
            "MODEL_ENDPOINTS": json.dumps(endpoints),
            "SECRET_KEY": "bench-secret-key",
            "DUET_INSTANCE_PATH": str(run_dir / "instance"),
            "PREFERENCE_SAMPLE_RATE": "0",
            "MAX_TOKENS": str(cfg.max_tokens),
            "GENERATION_CONNECT_TIMEOUT": "5",
            "GENERATION_READ_TIMEOUT": "15",
            "GENERATION_TOTAL_TIMEOUT": "300",
            "PYTHONUNBUFFERED": "1",
            # Every simulated browser comes from 127.0.0.1: keep the limiter in the request
            # path (its cost is part of a POST) but with limits no benchmark reaches.
            "RATELIMIT_PER_IP": "1000000/minute",
            "RATELIMIT_API": "1000000/minute",
            "RATELIMIT_TURNS": "1000000/minute",
            **cfg.extra_env,
        }
    )
    processes: list[Process] = []
    runs: list[dict] = []
    failed = True
    try:
        _migrate(env)
        upstream = Process(
            "upstream",
            [
                sys.executable,
                "-m",
                "bench.relay",
                "--serve-upstream",
                str(up_port),
                "--tokens",
                str(cfg.tokens),
                "--rate",
                str(cfg.rate),
            ],
            env,
            logs,
        )
        processes.append(upstream)
        wait_for_http(f"http://127.0.0.1:{up_port}/stats", upstream)
        workers = []
        for i in range(cfg.worker_procs):
            worker = start_worker(
                env,
                logs,
                name=f"worker{i}",
                concurrency=cfg.worker_threads(),
                pool=cfg.worker_pool,
            )
            processes.append(worker)
            workers.append(worker)
        up = ("127.0.0.1", up_port)

        async def up_call(method: str, path: str) -> dict:
            status, body = await http(*up, method, path)
            assert status == 200, body
            return json.loads(body)

        # One web for the whole sweep, with a thread for every socket of the largest N.
        threads = cfg.web_threads or cfg.threads_for(max(cfg.pairs))
        web, url = start_web(env, logs, workers=cfg.web_procs, threads=threads, pool=cfg.web_pool)
        processes.append(web)
        base = _hostport(url)
        jars: list[dict] = []  # the simulated browsers' cookies, reused from one N to the next
        _warm_up(cfg, base, jars)
        idle_kib = rss_kib(process_tree(web.popen.pid))
        last_took = 0.0
        for pairs in cfg.pairs:
            n_began = time.monotonic()
            elapsed = n_began - began
            estimate = max(last_took, 2 * (cfg.ramp + cfg.stream_s) + 2 + 0.02 * pairs)
            if runs and elapsed + estimate > cfg.duration_cap:
                runs.append({"pairs": pairs, "skipped": f"duration cap {cfg.duration_cap:g} s"})
                print(f"N={pairs}: skipped (duration cap)", flush=True)
                continue
            steps: dict[str, float] = {}
            t = time.monotonic()
            browsers = asyncio.run(_prepare(base, pairs, jars))
            steps["prepare"] = time.monotonic() - t
            pids = {
                "web": process_tree(web.popen.pid),
                "worker": [p for w in workers for p in process_tree(w.popen.pid)],
                "upstream": process_tree(upstream.popen.pid),
            }
            steps["drain_before"] = _drain(up_call, redis_client)
            asyncio.run(up_call("POST", "/reset"))
            t = time.monotonic()
            base_before = _cpu_snapshot(pids, redis_client)
            base_tally = asyncio.run(_baseline_phase(cfg, pairs, up_port))
            base_after = _cpu_snapshot(pids, redis_client)
            steps["baseline"] = time.monotonic() - t
            base_up = asyncio.run(up_call("GET", "/stats"))
            steps["drain_between"] = _drain(up_call, redis_client)
            asyncio.run(up_call("POST", "/reset"))
            sampler = Sampler(pids["web"], idle_kib)
            before = _cpu_snapshot(pids, redis_client)
            waits_before = _wait_snapshot(pids)
            t = time.monotonic()
            duet_tally = asyncio.run(_duet_phase(cfg, base, browsers, sampler))
            steps["duet"] = time.monotonic() - t
            after = _cpu_snapshot(pids, redis_client)
            waits = _waited(waits_before, _wait_snapshot(pids))
            duet_up = asyncio.run(up_call("GET", "/stats"))
            last_took = time.monotonic() - n_began
            cpu = {k: after[k] - before[k] for k in before}
            base_cpu = {k: base_after[k] - base_before[k] for k in base_before}
            row = _summarise(
                cfg,
                pairs,
                base_tally,
                duet_tally,
                base_up,
                duet_up,
                cpu,
                base_cpu,
                waits,
                sampler,
                steps,
                threads,
            )
            runs.append(row)
            la = row["token_latency_ms"]["added"]
            print(
                f"N={pairs}: retention {row['retention']:.3f}, added TTFT p50 "
                f"{_fmt(row['ttft_ms']['added']['p50'])} ms, added token p99 {_fmt(la['p99'])} ms,"
                f" {row['duet']['done']}/{row['duet']['streams']} slots done "
                f"({time.monotonic() - began:.0f} s)",
                flush=True,
            )
        failed = False
    finally:
        for process in reversed(processes):
            process.stop()
        with contextlib.suppress(Exception):
            redis_client.flushdb()
        if failed or cfg.keep:
            print(f"logs kept in {logs}", file=sys.stderr)
        else:
            shutil.rmtree(run_dir, ignore_errors=True)

    return {
        "machine": machine,
        "settings": {
            "pairs": cfg.pairs,
            "tokens": cfg.tokens,
            "token_chars": TOKEN_CHARS,
            "rate": cfg.rate,
            "ramp": cfg.ramp,
            "web_procs": cfg.web_procs,
            "web_threads": cfg.web_threads or "pairs + 16",
            "worker_procs": cfg.worker_procs,
            "worker_threads": cfg.worker_threads(),
            "worker_pool": cfg.worker_pool,
            "web_pool": cfg.web_pool,
            "database": "SQLite" if database_url.startswith("sqlite") else "PostgreSQL",
            "redis_version": redis_client.info("server").get("redis_version"),
        },
        "runs": runs,
        "capacity": {
            "pairs": _capacity(runs),
            "criteria": "largest N, with every smaller N, where retention >= 0.99, added "
            "per-token latency p99 <= 50 ms and every slot done",
        },
        "targets": _targets(runs),
        "source": _source(),
        "duration_s": round(time.monotonic() - began, 1),
    }


def _source() -> dict:
    """The commit measured, and whether the work tree had changes on top of it."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip() if done.returncode == 0 else ""

    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": git("rev-parse", "--short", "HEAD") or None, "dirty": bool(status)}


def _drain(up_call: Callable, redis_client: Any, timeout: float = 30.0) -> float:
    """Wait until no model stream is open and no task is queued (streams a timed-out phase
    left behind would load the next one); returns the seconds waited."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        stats = asyncio.run(up_call("GET", "/stats"))
        if not stats["open"] and not redis_client.llen("celery"):
            break
        time.sleep(0.2)
    return time.monotonic() - began


def _warm_up(cfg: Config, base: tuple[str, int], jars: list[dict]) -> None:
    """Unmeasured one-token pairs, so a fresh web process has done its one-time work (lazy
    imports, the broker, database and Redis connections) and the worker its own, before the
    measured phases. Several rounds of concurrent pairs reach every gunicorn process."""
    width = 4 * cfg.web_procs
    browsers = asyncio.run(_prepare(base, width, jars))
    for _ in range(3):
        warm = asyncio.run(_duet_phase(cfg, base, browsers, None, prompt=WARMUP_PROMPT, ramp=0))
        if warm.errors or sum(s.tokens for s in warm.slots) != 2 * width:
            raise RuntimeError(f"warm-up pairs failed: {warm.errors[:3]}")


def _hostport(url: str) -> tuple[str, int]:
    host, _, port = url.removeprefix("http://").partition(":")
    return host, int(port)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.relay", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--pairs", default="1,10,50,100,200", help="comma-separated N values")
    parser.add_argument("--tokens", type=int, default=200, help="tokens per response")
    parser.add_argument("--rate", type=float, default=50.0, help="tokens/s per stream")
    parser.add_argument("--ramp", type=float, default=1.0, help="seconds over which N arrive")
    parser.add_argument(
        "--slack", type=float, default=6.0, help="extra seconds before a phase gives up"
    )
    parser.add_argument(
        "--duration-cap", type=float, default=180.0, help="skip N that would end past this"
    )
    parser.add_argument("--web-procs", type=int, default=2, help="gunicorn processes")
    parser.add_argument(
        "--web-threads",
        type=int,
        default=0,
        help="threads per gunicorn process (0: largest N + 16)",
    )
    parser.add_argument("--worker-procs", type=int, default=1, help="Celery worker processes")
    parser.add_argument(
        "--worker-concurrency",
        type=int,
        default=0,
        help="threads per worker (0: enough for the largest N)",
    )
    parser.add_argument(
        "--worker-pool",
        choices=("gevent", "threads"),
        default="gevent",
        help="Celery's execution pool (the Procfile's is gevent)",
    )
    parser.add_argument(
        "--web-pool",
        choices=("gthread", "gevent"),
        default="gthread",
        help="gunicorn's worker class",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="default: a temporary SQLite file; a PostgreSQL URL must be a scratch database",
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/13", help="flushed before and after"
    )
    parser.add_argument(
        "--json", default=str(ROOT / "bench" / "results.json"), help="where to write the results"
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra setting for web and worker",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: N=1, 20 tokens")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder with the process logs"
    )
    parser.add_argument("--serve-upstream", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.serve_upstream:
        serve_upstream("127.0.0.1", args.serve_upstream, args.tokens, args.rate)
        return 0

    pairs = [1] if args.quick else sorted({int(p) for p in args.pairs.split(",") if p.strip()})
    extra_env = dict(item.split("=", 1) for item in args.env)
    cfg = Config(
        pairs=pairs,
        tokens=20 if args.quick else args.tokens,
        rate=args.rate,
        ramp=0.0 if args.quick else args.ramp,
        slack=args.slack,
        duration_cap=args.duration_cap,
        web_procs=args.web_procs,
        web_threads=args.web_threads,
        worker_procs=args.worker_procs,
        worker_concurrency=args.worker_concurrency or (16 if args.quick else 0),
        worker_pool=args.worker_pool,
        web_pool=args.web_pool,
        database_url=args.database_url,
        redis_url=args.redis_url,
        json_path=Path(args.json),
        max_tokens=max(1024, args.tokens),
        keep=args.keep,
        extra_env=extra_env,
    )
    # A SIGTERM (`kill`, a job's timeout) stops the processes the run started, as Ctrl-C
    # does: left running, its Celery worker would take the next run's tasks.
    from app.process.sigterm import exit_on_sigterm

    with exit_on_sigterm():
        result = run(cfg)
    cfg.json_path.parent.mkdir(parents=True, exist_ok=True)
    cfg.json_path.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"\nWrote {cfg.json_path} in {result['duration_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
