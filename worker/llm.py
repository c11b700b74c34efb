"""Streaming client for OpenAI-compatible chat endpoints (vLLM, Ollama, llama.cpp, OpenAI).

Plain functions only: no Flask, no Celery, no Redis. The worker iterates `stream_chat` and
closes the generator to cancel, which closes the upstream HTTP connection.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter

from worker.sse import Chunk, GenerationError, SSEDecoder, error_text, parse_chunk

__all__ = ["Chunk", "GenerationError", "Timeouts", "endpoint_session", "stream_chat"]

_NOFINISH = (
    "the endpoint ended the stream without a finish_reason (llama.cpp's server does this when "
    "another request interrupts it; run one server per slot or disable interrupt_requests)"
)
_TRUNCATED = "the stream ended before the answer was complete (no finish_reason, no [DONE])"
_TAIL_TIMEOUT = 1.0  # seconds to wait, after [DONE], for the end of the body
# Idle connections kept per endpoint host: more than a worker process runs generations at
# once, so that urllib3 never discards one with a "pool is full" warning.
_POOL_SIZE = 1000


@dataclass(frozen=True)
class Timeouts:
    """Bounds on one generation, in seconds."""

    connect: float = 5.0  # to establish the TCP connection
    read: float = 60.0  # longest silence between bytes
    total: float = 600.0  # whole generation; requests cannot bound this, so we do


class _BearerAuth(requests.auth.AuthBase):
    """The endpoint's api_key as requests auth: given as a plain header, a ~/.netrc entry
    for the endpoint's host would replace it (requests applies netrc auth after headers)."""

    def __init__(self, api_key: str) -> None:
        self.api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.api_key}"
        return request


class EndpointSession(requests.Session):
    """A requests Session that reads the environment's proxy and CA settings (`HTTPS_PROXY`,
    `NO_PROXY`, `REQUESTS_CA_BUNDLE`...) once per endpoint, not at every request: requests
    walks the whole process environment for them each time (180 µs with 35 variables)."""

    def __init__(self) -> None:
        super().__init__()
        self._environment: dict[tuple, Any] = {}

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        """As requests merges them, remembered per origin and request settings."""
        origin = urlsplit(url.decode() if isinstance(url, bytes) else url or "")
        key = (
            origin.scheme,
            origin.netloc,
            tuple(sorted((proxies or {}).items())),
            stream,
            verify,
            cert,
            self.trust_env,
        )
        settings = self._environment.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
            self._environment[key] = settings
        return {**settings, "proxies": dict(settings["proxies"])}


def endpoint_session() -> requests.Session:
    """A Session for every generation of a process: a connection to an endpoint stays open
    after a generation (HTTP keep-alive) and serves the next one, which then skips the TCP
    (and TLS) handshake. Connections the endpoint closed while idle are not reused."""
    session = EndpointSession()
    adapter = HTTPAdapter(pool_maxsize=_POOL_SIZE)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def stream_chat(
    base_url: str,
    model: str,
    messages: list[dict],
    *,
    api_key: str | None = None,
    params: dict | None = None,
    max_tokens: int | None = None,
    timeouts: Timeouts = Timeouts(),
    session: requests.Session | None = None,
) -> Generator[Chunk, None, None]:
    """POST {base_url}/chat/completions with stream=true and yield Chunks as they arrive.

    With a `session` (see `endpoint_session`), a stream read to its end leaves its
    connection open for the session's next request; without one, each call connects anew."""
    deadline = time.monotonic() + timeouts.total
    url = base_url.rstrip("/") + "/chat/completions"
    # stream_options is dropped because llama.cpp's server rejects it
    body: dict[str, Any] = {k: v for k, v in (params or {}).items() if k != "stream_options"}
    body.update(model=model, messages=messages, stream=True)
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    headers = {"Accept": "text/event-stream"}
    auth = _BearerAuth(api_key) if api_key else None
    http = session or requests.Session()
    response = None
    try:
        response = _open(http, url, body, headers, auth, timeouts)
        yield from _chunks(response, timeouts, deadline, keep=session is not None)
    except GenerationError as exc:
        if api_key and api_key in str(exc):  # an upstream error body might echo the key
            raise GenerationError(str(exc).replace(api_key, "***")) from None
        raise
    finally:
        # also runs on generator.close(): that is how a cancelled generation hangs up upstream
        if response is not None:
            response.close()
        if session is None:
            http.close()


def _open(
    http: requests.Session,
    url: str,
    body: dict,
    headers: dict,
    auth: _BearerAuth | None,
    timeouts: Timeouts,
) -> requests.Response:
    shown = _safe_url(url)
    timeout = (timeouts.connect, timeouts.read)
    post = partial(
        http.post, url, json=body, headers=headers, auth=auth, stream=True, timeout=timeout
    )
    try:
        try:
            response = post()
        except requests.exceptions.ConnectionError as exc:
            if not _hung_up(exc):
                raise
            # A kept-alive connection can be reused just as the endpoint closes it for being
            # idle (uvicorn, so vLLM's server, after 5 s): the request is lost unanswered.
            # Nothing came back, so it goes once more, on another connection.
            response = post()
    except requests.exceptions.ConnectTimeout as exc:
        raise GenerationError(f"could not connect to {shown} in {timeouts.connect:g} s") from exc
    except requests.exceptions.ReadTimeout as exc:
        raise GenerationError(f"the endpoint did not answer within {timeouts.read:g} s") from exc
    except requests.exceptions.ConnectionError as exc:
        raise GenerationError(_connect_failure(shown, exc)) from exc
    except requests.exceptions.RequestException as exc:
        raise GenerationError(f"the request to {shown} failed ({type(exc).__name__})") from exc
    status = response.status_code
    is_json = response.headers.get("Content-Type", "").startswith("application/json")
    if status < 400 and not is_json:
        return response
    try:
        detail = error_text(_read_some(response))
    finally:
        response.close()
    if status >= 400:
        hint = " (check the api_key)" if status in (401, 403) else ""
        raise GenerationError(f"the endpoint answered HTTP {status}{hint}: {detail}")
    raise GenerationError(f"the endpoint answered JSON instead of an event stream: {detail}")


def _chunks(
    response: requests.Response, timeouts: Timeouts, deadline: float, *, keep: bool
) -> Iterator[Chunk]:
    """The answer's chunks; with `keep`, the body is read to its end for the connection's
    reuse (without a session the connection is closed anyway)."""
    finished = done = False
    payloads = _payloads(response, timeouts, deadline)
    try:
        for payload in payloads:
            if payload.strip() == "[DONE]":
                done = True
                if keep:
                    _read_to_end(response, payloads)
                break
            if not finished:  # anything after the final chunk (e.g. usage) is drained unread
                chunk = parse_chunk(payload)
                finished = chunk.finish_reason is not None
                if finished or chunk.text:
                    yield chunk
    except GenerationError:
        if not finished:
            raise
        # the answer is complete; trouble while reading its tail does not spoil it
    if not finished:
        raise GenerationError(_NOFINISH if done else _TRUNCATED)


def _payloads(response: requests.Response, timeouts: Timeouts, deadline: float) -> Iterator[str]:
    decoder = SSEDecoder()
    pieces = _network_pieces(response)
    while True:
        try:
            data = next(pieces, None)
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise GenerationError(_transport_failure(exc, timeouts)) from exc
        if data is None:
            yield from decoder.close()
            return
        yield from decoder.feed(data)
        if time.monotonic() > deadline:
            raise GenerationError(f"generation exceeded the {timeouts.total:g} s limit")


def _read_to_end(response: requests.Response, payloads: Iterator[str]) -> None:
    """After [DONE] only the end of a chunked body should follow. Read it, waiting
    _TAIL_TIMEOUT at most, so that the connection can serve the next request; if anything
    else comes, or nothing, the connection is closed instead, as it would be without this."""
    sock = getattr(response.raw.connection, "sock", None)
    if not response.raw.chunked or sock is None:
        return  # the body ends when the connection closes: nothing to keep
    try:
        sock.settimeout(_TAIL_TIMEOUT)  # urllib3 sets the read timeout again on reuse
        next(payloads, None)
    except (GenerationError, OSError):
        pass


def _network_pieces(response: requests.Response) -> Iterator[bytes]:
    read1 = getattr(response.raw, "read1", None)
    if response.raw.chunked or read1 is None:
        yield from response.iter_content(chunk_size=None)  # one piece per HTTP chunk
        return
    # Without chunked encoding urllib3 answers chunk_size=None by reading to EOF, which would
    # hold back every token until the end; read1 returns whatever has arrived.
    while data := read1(65536, decode_content=True):
        yield data


def _read_some(response: requests.Response) -> str:
    try:
        raw = response.raw.read(65536, decode_content=True)
    except (requests.RequestException, urllib3.exceptions.HTTPError, OSError):
        raw = b""  # the status alone will have to explain it
    return raw.decode("utf-8", errors="replace").strip()


def _safe_url(url: str) -> str:
    # credentials may hide in user:password@host or ?key=...; keep them out of messages
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _hung_up(exc: requests.exceptions.ConnectionError) -> bool:
    """The connection was open, the request sent, and the endpoint closed (or reset) it
    without an answer; urllib3 reports that as "Connection aborted"."""
    return any(isinstance(arg, urllib3.exceptions.ProtocolError) for arg in exc.args)


def _connect_failure(shown: str, exc: requests.exceptions.ConnectionError) -> str:
    if _hung_up(exc):
        return f"{shown} closed the connection without answering"
    reason = " (connection refused)" if "Connection refused" in str(exc) else ""
    return f"could not connect to {shown}{reason}"


def _transport_failure(exc: Exception, timeouts: Timeouts) -> str:
    # requests reports a read timeout mid-stream as a ConnectionError wrapping urllib3's error
    timeout_types = (TimeoutError, requests.Timeout, urllib3.exceptions.ReadTimeoutError)
    if any(isinstance(c, timeout_types) for c in (exc, *exc.args)):
        return f"the endpoint went silent for more than {timeouts.read:g} s mid-stream"
    return "the connection dropped mid-stream"
