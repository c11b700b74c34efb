"""The server side of a websocket whose inbound data is bounded, and the glue that hands
its connection back to gunicorn (or Werkzeug's dev server) when the view is done.

Duet's protocol has no messages from the client: the relay never reads any. simple-websocket
would keep every message it receives in a list until read, so a client could fill the web
process's memory with small frames (and, without `max_message_size`, with one large one).
Here each received message is dropped at once, and a client that sends more than a few is
closed with 1008 (policy violation); `max_message_size` (SOCK_SERVER_OPTIONS) closes one
that sends a frame too large with 1009.
"""

from __future__ import annotations

import contextlib

from flask import Response
from simple_websocket import Server
from wsproto.events import CloseConnection
from wsproto.frame_protocol import CloseReason
from wsproto.utilities import LocalProtocolError

# Inbound messages tolerated per connection (none has a meaning; a browser sends none).
MAX_INBOUND_MESSAGES = 16


class BoundedServer(Server):
    """simple-websocket's server that keeps no inbound message and closes a client that
    sends more than MAX_INBOUND_MESSAGES of them."""

    inbound = 0

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
