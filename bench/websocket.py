"""A browser's websocket on `/ws/turns/<tid>`: a minimal RFC 6455 client on asyncio that
takes each message's receive time when its bytes arrive. It offers permessage-deflate
(RFC 7692) as browsers do, so the server's side costs what a browser makes it cost."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
import zlib

from bench.clients import take_head
from bench.tally import Slot, Tally


class WsClient(asyncio.Protocol):
    """A browser's websocket on `/ws/turns/<tid>` (RFC 6455 client, no extensions)."""

    def __init__(self, host: str, path: str, cookie: str, slots: dict[str, Slot], tally: Tally):
        self.host, self.path, self.cookie, self.slots, self.tally = host, path, cookie, slots, tally
        self.buf = bytearray()
        self.opened = self.got_end = False
        self.close_code: int | None = None
        self.fragments: list[bytes] = []
        self.compressed = False  # the message being reassembled has RSV1 set
        self.inflate: zlib._Decompress | None = None  # set when the server took deflate
        self.inflate_fresh = False  # server_no_context_takeover: a new inflater per message
        self.done: asyncio.Future = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.b0 = 0  # the first byte of the frame being handled (FIN, RSV1, opcode)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.t_connect = time.time_ns()
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
            f"Cookie: {self.cookie}\r\n\r\n"
        )
        self.transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        now = time.time_ns()
        self.tally.wire_bytes += len(data)
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
            self._extensions(head)
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
            self.b0 = b0
            self._frame(b0 & 0x80, b0 & 0x0F, payload, now)
        del buf[:pos]

    def _extensions(self, head: bytes) -> None:
        """Take the permessage-deflate parameters the server answered with, if it did."""
        for line in head.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip() == b"sec-websocket-extensions" and b"permessage-deflate" in value:
                self.inflate = zlib.decompressobj(-15)
                self.inflate_fresh = b"server_no_context_takeover" in value

    def _frame(self, fin: int, opcode: int, payload: bytes, now: int) -> None:
        if opcode in (0x1, 0x2, 0x0):
            if opcode:
                self.compressed = bool(self.b0 & 0x40)
            self.fragments.append(payload)
            if fin:
                message, self.fragments = b"".join(self.fragments), []
                if self.compressed and self.inflate is not None:
                    if self.inflate_fresh:
                        self.inflate = zlib.decompressobj(-15)
                    message = self.inflate.decompress(message + b"\x00\x00\xff\xff")
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
            if event.get("first_seq", event["seq"]) != slot.last_seq + 1:  # joined: first_seq
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
