"""Hostile sockets against the Procfile's own web command line: hoarded websockets, half-sent
requests, floods of socket opens and of inbound frames. Whoever does it is refused or closed;
everyone else is served as before."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import websocket

from app.web.socket_caps import Place, take_place
from tests.client import DuetClient, pair_mismatch
from tests.stack import Process, start_procfile_web

pytestmark = [pytest.mark.stack, pytest.mark.timeout(180)]

CLOSE_TOO_MANY = 4429
PER_CLIENT, PER_ADDRESS = 6, 10
WS_OPENS_PER_CLIENT, WS_OPENS_PER_ADDRESS = 50, 100
HOARDED = PER_CLIENT + 20


@pytest.fixture(scope="module")
def web(stack, tmp_path_factory) -> Iterator[tuple[Process, str]]:
    """The Procfile's web line (one process), with the stack's worker, Redis and database.
    It trusts one proxy, so each test speaks from an address of its own (X-Forwarded-For)."""
    env = {
        **stack.env,
        "WEB_CONCURRENCY": "1",
        "PROXY_FIX_X_FOR": "1",
        "RATELIMIT_ENABLED": "true",
        "RATELIMIT_API": "10000/minute",
        "RATELIMIT_PER_IP": "10000/minute",
        "RATELIMIT_TURNS": "10000/minute",
        "RATELIMIT_WS": f"{WS_OPENS_PER_CLIENT}/minute",
        "RATELIMIT_WS_PER_IP": f"{WS_OPENS_PER_ADDRESS}/minute",
        "WS_MAX_PER_CLIENT": str(PER_CLIENT),
        "WS_MAX_PER_ADDRESS": str(PER_ADDRESS),
    }
    process, url = start_procfile_web(env, tmp_path_factory.mktemp("hostile"))
    yield process, url
    process.stop()


def _browser(url: str, address: str) -> DuetClient:
    browser = DuetClient(url)
    browser.http.headers["X-Forwarded-For"] = address
    return browser


def _open(browser: DuetClient, tid: str, timeout: float = 10) -> websocket.WebSocket:
    """Open the turn's socket as `browser`, from its address; raises on a refused upgrade."""
    ws_url = browser.base_url.replace("http", "ws", 1) + f"/ws/turns/{tid}"
    cookie = "; ".join(f"{c.name}={c.value}" for c in browser.http.cookies)
    address = browser.http.headers["X-Forwarded-For"]
    return websocket.create_connection(
        ws_url, cookie=cookie, header=[f"X-Forwarded-For: {address}"], timeout=timeout
    )


def _first_frame(ws: websocket.WebSocket) -> tuple[str, int | None, str]:
    """("close", code, reason) or ("data", None, text) for the first frame the server sends."""
    opcode, data = ws.recv_data(control_frame=False)
    if opcode == websocket.ABNF.OPCODE_CLOSE:
        code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
        return "close", code, data[2:].decode(errors="replace")
    return "data", None, data.decode(errors="replace")


def _streaming_turn(browser: DuetClient, seconds: float = 12) -> str:
    """A turn of one slot that streams for `seconds`."""
    cid = browser.new_conversation()
    tokens = int(seconds / 0.05)
    return browser.send(cid, f"Hold on #tokens={tokens} #delay=0.05", mode="single")["id"]


def _healthz_p99(url: str, count: int = 40) -> float:
    times = []
    with requests.Session() as http:
        for _ in range(count):
            start = time.monotonic()
            assert http.get(url + "/healthz", timeout=10).status_code == 200
            times.append(time.monotonic() - start)
    return sorted(times)[min(len(times) - 1, int(0.99 * len(times)))]


def _paired_turn_first_token(url: str, endpoints: list[dict], address: str) -> float:
    """A bystander's paired turn, streamed exactly; seconds from the POST to its first token."""
    bystander = _browser(url, address)
    cid = bystander.new_conversation()
    content = "Just a question #tokens=20 #delay=0.01"
    start = time.monotonic()
    turn = bystander.send(cid, content, mode="pair")
    stream = bystander.stream(turn["id"], timeout=30)
    assert pair_mismatch(stream, endpoints, content) is None
    bystander.http.close()
    return stream.times[0] - start


def _rss_kb(master: int) -> int:
    """Resident memory of the gunicorn master's worker processes, in kB."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if int(fields["PPid"]) == master and "VmRSS" in fields:
            total += int(fields["VmRSS"].split()[0])
    return total


def test_a_client_past_its_socket_cap_is_refused_while_others_are_served(web, endpoints):
    _, url = web
    hoarder = _browser(url, "10.1.0.1")
    tid = _streaming_turn(hoarder)
    sockets = [_open(hoarder, tid) for _ in range(HOARDED)]
    firsts = [_first_frame(ws) for ws in sockets]
    refused = [f for f in firsts if f[0] == "close"]
    assert len(refused) == HOARDED - PER_CLIENT, firsts[:3]
    assert {(code, "many" in reason) for _, code, reason in refused} == {(CLOSE_TOO_MANY, True)}
    # Everyone else, meanwhile: /healthz and a paired turn as usual.
    assert _healthz_p99(url) < 0.3
    assert _paired_turn_first_token(url, endpoints, "10.1.0.2") < 2.0
    # Sockets that closed free their places.
    for ws in sockets:
        ws.close()
    deadline = time.monotonic() + 5
    while True:
        ws = _open(hoarder, tid)
        kind, code, _ = _first_frame(ws)
        ws.close()
        if kind == "data" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert (kind, code) == ("data", None)


def test_sockets_from_one_address_are_capped_across_its_clients(web):
    _, url = web
    browsers = [_browser(url, "10.2.0.1") for _ in range(3)]
    held, refused = [], 0
    for browser in browsers:
        tid = _streaming_turn(browser)
        for _ in range(PER_CLIENT - 1):
            ws = _open(browser, tid)
            kind, code, _ = _first_frame(ws)
            held.append(ws)
            if kind == "close":
                assert code == CLOSE_TOO_MANY
                refused += 1
    assert refused == 3 * (PER_CLIENT - 1) - PER_ADDRESS
    for ws in held:
        ws.close()


def test_half_sent_requests_neither_stop_others_nor_stay_open(web):
    _, url = web
    host, port = urlsplit(url).hostname, urlsplit(url).port
    held = []
    for _ in range(120):
        s = socket.create_connection((host, port), timeout=5)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: duet\r\n")  # then silence
        held.append(s)
    time.sleep(0.5)
    assert _healthz_p99(url) < 0.3
    # The server closes them: the request's head must come within the header timeout.
    for s in held:
        s.settimeout(20)
        try:
            leftover = s.recv(4096)
        except ConnectionResetError:
            leftover = b""
        assert leftover in (b"",) or leftover.startswith(b"HTTP/1.1 408"), leftover[:40]
        s.close()


def test_socket_opens_are_rate_limited_per_client_and_per_address(web):
    _, url = web
    browser = _browser(url, "10.3.0.1")
    cid = browser.new_conversation()
    tid = browser.send(cid, "Short #tokens=2 #delay=0", mode="pair")["id"]
    statuses = []
    for _ in range(WS_OPENS_PER_CLIENT + 3):
        try:
            _open(browser, tid).close()
            statuses.append(101)
        except websocket.WebSocketBadStatusException as exc:
            statuses.append(exc.status_code)
            assert int(exc.resp_headers["retry-after"]) >= 1
    assert statuses == [101] * WS_OPENS_PER_CLIENT + [429] * 3
    # New cookies from one address buy nothing past the address's limit (a socket on
    # another's turn is an open too: it is upgraded, then closed with 4404).
    statuses = []
    for _ in range(5):
        fresh = _browser(url, "10.3.0.2")
        for _ in range(WS_OPENS_PER_ADDRESS // 5 + 5):
            try:
                _open(fresh, tid).close()
                statuses.append(101)
            except websocket.WebSocketBadStatusException as exc:
                statuses.append(exc.status_code)
    assert statuses.count(101) == WS_OPENS_PER_ADDRESS
    assert set(statuses[WS_OPENS_PER_ADDRESS:]) == {429}


def test_inbound_frames_are_bounded_and_do_not_grow_the_process(web):
    process, url = web
    browser = _browser(url, "10.4.0.1")
    tid = _streaming_turn(browser)
    before = _rss_kb(process.popen.pid)
    # A frame over 4 KB: closed with 1009 (message too big). The server closes while the
    # rest of the frame is still unread in its socket, so its kernel may answer with a reset,
    # which drops the close frame on the client's side: closed either way, never served on.
    ws = _open(browser, tid)
    ws.send_binary(b"x" * 8192)
    assert _close_code(ws) in (1009, RESET)
    # More than a few frames, which the relay never reads: closed with 1008 (policy). The
    # close may come before the client has sent all 20 (its next send then fails).
    ws = _open(browser, tid)
    sent = _flood(ws, [b"y" * 100] * 20)
    assert sent < 20 or _close_code(ws) in (1008, RESET)
    # Floods of either are cut off early (the close frame may then be lost to a reset).
    for frame, count in ((b"x" * 1_000_000, 80), (b"y" * 1000, 20_000)):
        assert _flood(_open(browser, tid), [frame] * count) < count
    time.sleep(1)
    assert _rss_kb(process.popen.pid) - before < 20_000, "the web process grew"


def _flood(ws: websocket.WebSocket, frames: list[bytes]) -> int:
    """Send frames until the server closes; how many were sent."""
    for i, frame in enumerate(frames):
        try:
            ws.send_binary(frame)
        except (OSError, websocket.WebSocketException):
            return i
    return len(frames)


RESET = "reset"  # the connection ended without a readable close frame


def _close_code(ws: websocket.WebSocket) -> int | str | None:
    """The code of the close frame the server sent, skipping the turn's events; RESET if the
    connection ended without one, None if it stayed open for 10 s."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            opcode, data = ws.recv_data(control_frame=False)
        except (OSError, websocket.WebSocketException):
            return RESET
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big") if len(data) >= 2 else None
    return None


def test_a_socket_place_lapses_unless_refreshed_so_a_dead_process_leaves_no_phantom(r):
    caps = [("client:x", 2), ("ip:y", 3)]
    first, second = take_place(r, caps, lease=1.0), take_place(r, caps, lease=1.0)
    assert isinstance(first, Place) and isinstance(second, Place)
    assert take_place(r, caps, lease=1.0) == 0  # the client's cap is full
    assert isinstance(take_place(r, [("client:z", 2), ("ip:y", 3)], lease=1.0), Place)
    assert take_place(r, [("client:w", 2), ("ip:y", 3)], lease=1.0) == 1  # the address's
    time.sleep(0.4)
    first.keep()  # alive: refreshed; `second` is not, as if its process had died
    time.sleep(0.75)
    third = take_place(r, caps, lease=1.0)
    assert isinstance(third, Place)
    assert take_place(r, caps, lease=1.0) == 0
    first.release()
    assert isinstance(take_place(r, caps, lease=1.0), Place)
