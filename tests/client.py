"""A test browser: HTTP with a cookie jar, and websocket reads of a turn's events."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import requests
import websocket

from tests.fake_llm import expected_text


@dataclass
class TurnStream:
    """What one websocket connection to a turn received."""

    events: list[dict] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    close_code: int | None = None

    def text(self, slot: str) -> str:
        """The slot's text, assembled as a browser would: tokens in seq order, and a `reset`
        drops what came before it."""
        tokens: list[dict] = []
        for event in self.of_slot(slot):
            if event["type"] == "reset":
                tokens = []
            elif event["type"] == "token":
                tokens.append(event)
        return "".join(e["text"] for e in sorted(tokens, key=lambda e: e["seq"]))

    def seqs(self, slot: str) -> list[int]:
        """The token seqs received for `slot`, in arrival order."""
        return [e["seq"] for e in self.events if e["type"] == "token" and e["slot"] == slot]

    def terminals(self, slot: str) -> list[dict]:
        """The terminal events received for `slot`."""
        return [
            e
            for e in self.events
            if e.get("slot") == slot and e["type"] in ("done", "error", "cancelled")
        ]

    def of_slot(self, slot: str) -> list[dict]:
        """The events of one slot, in arrival order."""
        return [e for e in self.events if e.get("slot") == slot]

    def of_type(self, kind: str) -> list[dict]:
        """Events of one type."""
        return [e for e in self.events if e["type"] == kind]


class DuetClient:
    """One anonymous browser against a running Duet."""

    def __init__(self, base_url: str, timeout: float = 30) -> None:
        self.base_url, self.timeout = base_url, timeout
        self.http = requests.Session()
        # A fresh connection per request: no race with the server closing an idle keep-alive.
        self.http.headers["Connection"] = "close"
        self.http.get(
            base_url + "/", timeout=timeout
        )  # picks up the client cookie, as the page does

    def post(self, path: str, body: dict | None = None) -> requests.Response:
        """POST JSON."""
        return self.http.post(
            self.base_url + path, json={} if body is None else body, timeout=self.timeout
        )

    def get(self, path: str) -> requests.Response:
        """GET."""
        return self.http.get(self.base_url + path, timeout=self.timeout)

    def new_conversation(self, **body: str) -> str:
        """Create a conversation and return its id."""
        response = self.post("/api/conversations", body)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def send(self, cid: str, content: str, mode: str = "single") -> dict:
        """Send a message; returns the 202 body."""
        response = self.post(f"/api/conversations/{cid}/turns", {"content": content, "mode": mode})
        assert response.status_code == 202, response.text
        return response.json()

    def connect(self, tid: str, query: str = "", timeout: float = 20) -> websocket.WebSocket:
        """Open the turn's websocket with this browser's cookie."""
        ws_url = self.base_url.replace("http", "ws", 1) + f"/ws/turns/{tid}{query}"
        cookie = "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
        return websocket.create_connection(ws_url, cookie=cookie, timeout=timeout)

    def stream(
        self, tid: str, query: str = "", limit: int | None = None, timeout: float = 30
    ) -> TurnStream:
        """Read the turn's events until the server closes (or `limit` events, then drop)."""
        ws = self.connect(tid, query, timeout)
        received = TurnStream()
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                opcode, data = ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    received.close_code = int.from_bytes(data[:2], "big") if data else None
                    break
                received.events.append(json.loads(data))
                received.times.append(time.monotonic())
                if limit is not None and len(received.events) >= limit:
                    break
        finally:
            ws.close()
        return received

    def conversation(self, cid: str) -> dict:
        """GET the conversation."""
        response = self.get(f"/api/conversations/{cid}")
        assert response.status_code == 200, response.text
        return response.json()

    def turn(self, cid: str, tid: str) -> dict:
        """One turn as the API shows it."""
        return next(t for t in self.conversation(cid)["turns"] if t["id"] == tid)


def pair_mismatch(stream: TurnStream, endpoints: list[dict], content: str) -> str | None:
    """Why the stream is not exactly what the model sent, or None when it is."""
    context = [{"role": "user", "content": content}]
    for slot in "ab":
        terminals = stream.terminals(slot)
        if [e["type"] for e in terminals] != ["done"]:
            return f"slot {slot} ended with {terminals}"
        text = stream.text(slot)
        name = text[1 : text.index("]")]
        params = next(e for e in endpoints if e["name"] == name)["params"]
        if text != expected_text(name, context, params):
            return f"slot {slot} text differs: seqs {stream.seqs(slot)[:8]}… {text[:60]!r}"
    if stream.events[-1] != {"type": "end"}:
        return f"no end event; closed with {stream.close_code}"
    return None


def at_once(count: int, person: Callable[[int], str | None], timeout: float = 180) -> dict:
    """Run `person(0)` .. `person(count - 1)` in threads at the same time; their answers (a
    reason something went wrong, or None) by index. The first exception is raised again."""
    results: dict[int, str | None] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = person(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if errors:
        raise errors[0]
    assert len(results) == count, f"{count - len(results)} people never finished"
    return results
