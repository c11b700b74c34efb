"""The benchmark's HTTP clients on asyncio: one request/response (`http`) and a direct read of
one upstream stream (`SseClient`, the baseline). Receive times are taken when bytes arrive."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from bench.tally import Slot, Tally


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


class SseClient(asyncio.Protocol):
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
        self.tally.wire_bytes += len(data)
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
