"""The fixed-rate model: an OpenAI-compatible upstream that streams stamped tokens on a fixed
schedule, run by the benchmark in its own process (asyncio: one process serves hundreds of
streams).

    .venv/bin/python -m bench.upstream PORT --tokens 200 --rate 50

`GET /stats` reports its counters, `POST /reset` zeroes them between phases.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time

from bench.stamps import encode_stamp

PAIR_PROMPT = "benchmark pair "  # + index: how the upstream tells Duet's requests apart
WARMUP_PROMPT = "benchmark warm-up "  # answered with a single token


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


def main(argv: list[str] | None = None) -> int:
    """Serve the upstream on 127.0.0.1:PORT until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.upstream", description="The relay benchmark's fixed-rate model."
    )
    parser.add_argument("port", type=int)
    parser.add_argument("--tokens", type=int, default=200, help="tokens per response")
    parser.add_argument("--rate", type=float, default=50.0, help="tokens/s per stream")
    args = parser.parse_args(argv)
    serve_upstream("127.0.0.1", args.port, args.tokens, args.rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
