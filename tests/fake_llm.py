"""A small OpenAI-compatible streaming chat server for tests (stdlib only).

Serves `POST <prefix>/v1/chat/completions` and `GET <prefix>/v1/models` for any path prefix.
The prefix, without its slashes, names the endpoint ("alpha" for `/alpha/v1/...`), so several
configured endpoints can share one server. The answer is `expected_text(prefix, messages,
params, max_tokens)`: deterministic, multibyte, and different per prefix, last user message and
temperature. It streams like real servers: a role-only chunk, content chunks, a final chunk with
an empty delta and finish_reason "stop" (or "length" when max_tokens cuts it), then [DONE], with
`: keep-alive` comments, chunked transfer encoding (`FakeLLM(chunked=False)`: a body that ends
when the connection closes), and every event written in two pieces split at a varying byte
offset, often inside a multibyte character, so clients must decode UTF-8 incrementally.

`fake.requests` holds (path, json body) per chat request and `fake.headers` their headers;
`fake.started`, `.completed` (fully written) and `.aborted` (the client hung up) count streams,
`fake.connections` the TCP connections accepted (a chunked stream leaves its connection open
for the next request, as vLLM's server does), and `fake.wait_until(lambda f: f.aborted == 1)`
waits for a count.

Directives, anywhere in the last user message:
    #tokens=N           answer with N tokens (default 40)
    #delay=SECONDS      pause before each token (default 0.002)
    #first_delay=S      pause before the first token
    #fail=http500       HTTP 500 with a JSON error body (#fail=http429: HTTP 429, ...); its
                        message echoes the Authorization header, to test that clients hide it
    #fail=drop          cut the connection after half the tokens (no [DONE])
    #fail=nofinish      half the tokens, then [DONE] without a finish_reason (llama.cpp interrupt)
    #fail=garbage       a few tokens, then `data: {not json`
    #fail=stall         a few tokens, then silence until the server stops (at most 300 s)
    #fail=nodone        a complete answer, but the stream ends without [DONE] (some servers)
    #fail=linger        a complete answer and [DONE], then silence before the body's end
                        (until the server stops, at most 300 s)
    #fail=hangup        close the connection without an answer
    #fail=stale         the same, on a connection that served a request before (a server that
                        closes an idle keep-alive connection just as it is reused)
    #failfirst=KIND     as #fail=KIND for the first request of an endpoint with this message,
                        then answers normally (a retry that works)

Run standalone: `python tests/fake_llm.py --port 8001`.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import re
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

_DIRECTIVE = re.compile(r"#(\w+)=(\S+)")
_PHRASES = (
    "Voilà: a café crème for the naïve señor.",
    "中文也可以，没问题。日本語も。",
    "Party 🎉, thumbs 👍🏽 and a family 👨‍👩‍👧!",
    "Combining marks: e\u0301, a\u0308, n\u0303.",
    "**Bold**, _italic_ and `code()`.",
    "\n\n- a list item\n- another one\n",
    "```python\nprint('héllo')\n```\n",
    "  spaces at both edges  ",
    "Ελληνικά, русский, العربية, עברית.",
)


def directives(messages: list[dict]) -> dict[str, str]:
    """The `#name=value` directives of the last user message."""
    return dict(_DIRECTIVE.findall(_last_user_message(messages)))


def expected_tokens(
    prefix: str, messages: list[dict], params: dict | None = None, max_tokens: int | None = None
) -> list[str]:
    """The tokens the server streams for this request, cut to max_tokens."""
    last = _last_user_message(messages)
    count = int(directives(messages).get("tokens", 40))
    temperature = (params or {}).get("temperature")
    seed = hashlib.sha256(json.dumps([prefix, last, temperature]).encode()).hexdigest()
    rng = random.Random(seed)
    topic = " ".join(_DIRECTIVE.sub("", last).split())[:60] or "nothing"
    text = f"[{prefix}] You said: {topic}\n"
    while len(text) < count * 6:
        text += rng.choice(_PHRASES) + rng.choice((" ", "\n", "  "))
    tokens, position = [], 0
    while len(tokens) < count:
        size = rng.randint(1, 6)
        tokens.append(text[position : position + size])
        position += size
    return tokens if max_tokens is None else tokens[:max_tokens]


def expected_text(
    prefix: str, messages: list[dict], params: dict | None = None, max_tokens: int | None = None
) -> str:
    """The whole answer a client receives when the stream completes."""
    return "".join(expected_tokens(prefix, messages, params, max_tokens))


def _last_user_message(messages: list[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content") or ""
            if isinstance(content, list):  # content parts
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content)
    return ""


class _Server(ThreadingHTTPServer):
    # A real model server's listen backlog (uvicorn's is 2048), not socketserver's 5: a
    # gevent worker opens a hundred generations' connections within milliseconds.
    request_queue_size = 1024
    daemon_threads = True


class FakeLLM:
    """The server; `with FakeLLM() as fake:` runs it on a free port at `fake.url`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, chunked: bool = True) -> None:
        self.host, self.port = host, port
        self.chunked = chunked  # False: no framing, the body ends when the connection closes
        self.requests: list[tuple[str, dict]] = []  # (path, json body) per chat request
        self.headers: list[dict[str, str]] = []  # the request headers, parallel to .requests
        self.started = self.completed = self.aborted = 0  # streams begun, finished, cut by client
        self.connections = 0  # TCP connections accepted
        self.failed_once: set[tuple[str, str]] = set()  # (path, message) that #failfirst failed
        self._lock = threading.Condition()
        self._stopping = threading.Event()
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        """The server's base URL, e.g. http://127.0.0.1:PORT."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        """Bind and serve from a daemon thread."""
        self._stopping.clear()
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server((self.host, self.port), handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and wake any stalled stream."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait_until(self, condition: Callable[[FakeLLM], bool], timeout: float = 5.0) -> bool:
        """Wait until condition(self) holds, e.g. `lambda f: f.aborted == 1`."""
        with self._lock:
            return self._lock.wait_for(lambda: condition(self), timeout)

    def _count(self, name: str) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + 1)
            self._lock.notify_all()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # chunked transfer encoding, like vLLM and llama.cpp
    fake: FakeLLM
    _events = 0  # events written in the current stream; varies where each one is cut
    _served = 0  # requests answered on this connection

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output clean

    def setup(self) -> None:
        super().setup()
        self.fake._count("connections")

    def do_GET(self) -> None:
        if not self.path.endswith("/v1/models"):
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        name = self.path.removesuffix("/v1/models").strip("/") or "default"
        models = [{"id": f"fake-{name}", "object": "model", "owned_by": "fake"}]
        return self._json(200, {"object": "list", "data": models})

    def do_POST(self) -> None:
        suffix = "/v1/chat/completions"
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length))
            messages = body["messages"]
        except (ValueError, KeyError, TypeError):
            return self._json(400, {"error": {"message": "body must be JSON with messages"}})
        if not self.path.endswith(suffix):
            return self._json(404, {"error": {"message": f"no route {self.path}"}})
        fail = directives(messages).get("fail", "")
        first = directives(messages).get("failfirst")
        if first and not fail:
            key = (self.path, _last_user_message(messages))
            with self.fake._lock:
                if key not in self.fake.failed_once:
                    self.fake.failed_once.add(key)
                    fail = first
        if fail == "hangup" or (fail == "stale" and self._served):
            self.close_connection = True  # read, never answered
            return
        self._served += 1
        with self.fake._lock:
            self.fake.requests.append((self.path, body))
            self.fake.headers.append(dict(self.headers.items()))
        if "stream_options" in body:  # llama-cpp-python rejects it; so must a client aiming there
            return self._json(400, {"error": {"message": "stream_options is not supported"}})
        prefix = self.path.removesuffix(suffix).strip("/")
        if fail.startswith("http"):  # echoes the key, as careless proxies do, to test redaction
            status, auth = int(fail[4:]), self.headers.get("Authorization", "no key")
            return self._json(status, {"error": {"message": f"fake failure {status} ({auth})"}})
        try:
            self._stream(prefix, body, messages, fail)
            self.fake._count("completed")
        except ConnectionError:  # the client hung up: a cancelled generation
            self.fake._count("aborted")
            self.close_connection = True

    def _stream(self, prefix: str, body: dict, messages: list[dict], fail: str) -> None:
        found = directives(messages)
        delay = float(found.get("delay", 0.002))
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        tokens = expected_tokens(prefix, messages, body)
        send = tokens[:limit] if limit else tokens
        if fail in ("drop", "nofinish"):
            send = tokens[: len(tokens) // 2]
        elif fail in ("garbage", "stall"):
            send = tokens[:3]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        if self.fake.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.fake._count("started")
        chunk = {"id": f"chatcmpl-fake-{time.monotonic_ns()}", "object": "chat.completion.chunk"}
        chunk |= {"created": int(time.time()), "model": body.get("model", "")}
        self._events = 0

        def event(delta: dict, finish: str | None = None) -> None:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            # mostly raw UTF-8 like vLLM; sometimes \u escapes (surrogate pairs too) like OpenAI
            raw = json.dumps(chunk | {"choices": [choice]}, ensure_ascii=self._events % 7 == 6)
            self._event(f"data: {raw}", aim=delta.get("content", ""))

        event({"role": "assistant"})
        time.sleep(float(found.get("first_delay", 0)))
        for index, token in enumerate(send):
            time.sleep(delay)
            event({"content": token})
            if index % 5 == 4:
                self._event(": keep-alive", eol="\r\n")
        if fail == "drop":
            self.close_connection = True
            return  # without the closing zero-length chunk: the client sees a broken stream
        if fail == "garbage":
            self._event("data: {not json")
        elif fail == "stall":
            self.fake._stopping.wait(300)
        elif fail != "nofinish":
            event({}, "length" if limit and limit < len(tokens) else "stop")
        if fail != "nodone":
            self._event("data: [DONE]")
        if fail == "linger":
            self.fake._stopping.wait(300)
        self._end()

    def _event(self, line: str, eol: str = "\n", aim: str = "") -> None:
        # Two writes (two HTTP chunks), cut inside the token where it shows up raw, so multibyte
        # characters straddle network reads at every offset over a stream; else at a varying byte.
        self._events += 1
        data, token = (line + eol * 2).encode(), aim.encode()
        start = data.rfind(token) if token else -1
        if start > 0:
            cut = start + self._events % len(token)
        else:
            cut = 1 + self._events * 37 % (len(data) - 1)
        self._write(data[:cut])
        self._write(data[cut:])

    def _write(self, data: bytes) -> None:
        if data and self.fake.chunked:  # (a zero-length chunk would end the response early)
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        self.wfile.write(data)
        self.wfile.flush()

    def _end(self) -> None:
        if self.fake.chunked:  # the zero-length chunk that ends the response
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()

    def _json(self, status: int, obj: dict) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main() -> None:
    """Run the server in the foreground until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    with FakeLLM(args.host, args.port) as fake:
        print(f"fake LLM listening on {fake.url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop it
            threading.Event().wait()


if __name__ == "__main__":
    main()
