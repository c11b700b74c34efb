"""The server side of a websocket whose inbound data is bounded, and the glue that hands
its connection back to gunicorn (or Werkzeug's dev server) when the view is done.

Duet's protocol has no messages from the client: the relay never reads any. simple-websocket
would keep every message it receives in a list until read, so a client could fill the web
process's memory with small frames (and, without `max_message_size`, with one large one).
Here each received message is dropped at once, and a client that sends more than a few is
closed with 1008 (policy violation); `max_message_size` (SOCK_SERVER_OPTIONS) closes one
that sends a frame too large with 1009.

Outbound, the relay sends many small messages (a token event is about 50 bytes), so each
send's cost counts: permessage-deflate, which browsers offer, is declined (zlib and
wsproto's framing cost 24 µs a message against 1 µs for a frame built here, and a
compressor keeps about 90 KiB per socket; the events are a quarter of the bytes the
model's own SSE stream takes per token uncompressed), and a text frame is built here rather
than by wsproto (docs/performance.md has the figures).
"""

from __future__ import annotations

import contextlib

from flask import Response
from simple_websocket import ConnectionClosed, Server
from wsproto.events import CloseConnection
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

# Inbound messages tolerated per connection (none has a meaning; a browser sends none).
MAX_INBOUND_MESSAGES = 16


class BoundedServer(Server):
    """simple-websocket's server that keeps no inbound message and closes a client that
    sends more than MAX_INBOUND_MESSAGES of them; it takes no extension (no deflate) and
    frames its text messages itself."""

    inbound = 0

    def handshake(self) -> None:
        # simple-websocket's handshake, without the client's extension offers: wsproto then
        # accepts none, so every outbound frame is a plain one (see `send`).
        request = b"GET / HTTP/1.1\r\n"
        for key, value in self.environ.items():
            if key.startswith("HTTP_") and key != "HTTP_SEC_WEBSOCKET_EXTENSIONS":
                header = "-".join(p.capitalize() for p in key[5:].split("_"))
                request += f"{header}: {value}\r\n".encode()
        self.ws.receive_data(request + b"\r\n")
        self.connected = self._handle_events()

    def send(self, data: str | bytes) -> None:
        """Send a message; a text message as one frame built here (no extension is in use,
        and a server's frames are not masked, so the frame is a header and the payload)."""
        if isinstance(data, bytes):
            super().send(data)
            return
        if not self.connected:
            raise ConnectionClosed(self.close_reason, self.close_message)
        self.sock.sendall(text_frame(data))  # type: ignore[union-attr]

    def _handle_events(self) -> bool:
        # simple-websocket's own event loop (Base._handle_events), which its stub omits.
        keep_going: bool = super()._handle_events()  # type: ignore[misc]
        self.inbound += len(self.input_buffer)
        self.input_buffer.clear()
        if keep_going and self.inbound > MAX_INBOUND_MESSAGES:
            refusal = CloseConnection(CloseReason.POLICY_VIOLATION, "This socket takes no data.")
            with contextlib.suppress(OSError, LocalProtocolError, AttributeError):
                self.sock.send(self.ws.send(refusal))  # type: ignore[union-attr]
            self.close_reason = CloseReason.POLICY_VIOLATION
            self.event.set()
            return False
        return keep_going


def text_frame(text: str) -> bytes:
    """A final, unmasked websocket text frame carrying `text` (RFC 6455, section 5.2)."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        return bytes((0x81, size)) + payload
    if size < 1 << 16:
        return b"\x81\x7e" + size.to_bytes(2, "big") + payload
    return b"\x81\x7f" + size.to_bytes(8, "big") + payload


class SocketDone(Response):
    """What a websocket view returns: the connection was the server's, and is over.

    gunicorn (any worker class) is told with StopIteration that the response was handled
    and the connection must close; Werkzeug's dev server with an empty response. This is
    flask-sock's WebSocketResponse, for servers other than eventlet.
    """

    def __init__(self, ws: Server) -> None:
        super().__init__()
        self.ws = ws

    def __call__(self, environ, start_response):
        if self.ws.mode == "gunicorn":
            raise StopIteration()
        if self.ws.mode == "werkzeug":
            return super().__call__(environ, start_response)
        return []
