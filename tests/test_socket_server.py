"""The websocket server's own framing: no extension taken, text frames built by hand that a
standard client (wsproto's) reads exactly. End-to-end streams are in
test_websocket_end_to_end.py."""

from __future__ import annotations

import socket

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage
from wsproto.extensions import PerMessageDeflate

from app.web.socket_server import BoundedServer, text_frame


def _client_and_environ(server_sock: socket.socket) -> tuple[WSConnection, dict]:
    """A wsproto client that offers permessage-deflate, as browsers do, and the WSGI environ
    of its upgrade request."""
    client = WSConnection(ConnectionType.CLIENT)
    raw = client.send(Request(host="duet.test", target="/ws", extensions=[PerMessageDeflate()]))
    environ: dict = {"werkzeug.socket": server_sock}
    for line in raw.decode().split("\r\n")[1:]:
        if line:
            name, _, value = line.partition(":")
            environ["HTTP_" + name.strip().upper().replace("-", "_")] = value.strip()
    assert "permessage-deflate" in environ["HTTP_SEC_WEBSOCKET_EXTENSIONS"]
    return client, environ


def _read_events(client: WSConnection, sock: socket.socket, count: int) -> list:
    events: list = []
    while len(events) < count:
        client.receive_data(sock.recv(1 << 20))
        events.extend(client.events())
    return events


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536, 70000])
def test_a_text_frame_reads_back_exactly(size: int) -> None:
    client, server_sock = socket.socketpair()
    with client, server_sock:
        wsclient, environ = _client_and_environ(server_sock)
        ws = BoundedServer(environ)
        try:
            (accepted,) = _read_events(wsclient, client, 1)
            assert isinstance(accepted, AcceptConnection)
            text = ("é€😀a" * size)[:size]
            ws.send(text)
            ws.send('{"type":"end"}')
            got: list[str] = []
            while len(got) < 2:
                for event in _read_events(wsclient, client, 1):
                    assert isinstance(event, TextMessage)
                    assert event.frame_finished and event.message_finished
                    got.append(event.data)
            assert got == [text, '{"type":"end"}']
        finally:
            ws.connected = False


def test_deflate_offered_by_a_browser_is_declined() -> None:
    client, server_sock = socket.socketpair()
    with client, server_sock:
        wsclient, environ = _client_and_environ(server_sock)
        ws = BoundedServer(environ)
        try:
            head = client.recv(65536)
            assert head.startswith(b"HTTP/1.1 101")
            assert b"sec-websocket-extensions" not in head.lower()
            wsclient.receive_data(head)
            (accepted,) = list(wsclient.events())
            assert isinstance(accepted, AcceptConnection)
            assert accepted.extensions == []
        finally:
            ws.connected = False


def test_text_frame_header_sizes() -> None:
    assert text_frame("") == b"\x81\x00"
    assert text_frame("x" * 125)[:2] == b"\x81\x7d"
    assert text_frame("x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert text_frame("x" * 65536)[:10] == b"\x81\x7f" + (65536).to_bytes(8, "big")
