"""Tests of worker.sse and worker.llm: SSE decoding, chunk parsing, and streaming against a
fake endpoint."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests

from tests.fake_llm import FakeLLM, expected_text, expected_tokens
from worker.llm import Chunk, GenerationError, Timeouts, endpoint_session, stream_chat
from worker.sse import SSEDecoder, parse_chunk

MULTIBYTE = "café 中文 🎉 e\u0301 👨‍👩‍👧"


def decode_all(*pieces: bytes) -> list[str]:
    """Feed pieces to a fresh decoder, then close it; return every payload."""
    decoder = SSEDecoder()
    payloads = [p for piece in pieces for p in decoder.feed(piece)]
    return payloads + decoder.close()


def test_decoder_is_exact_when_multibyte_chars_split_at_every_byte_offset() -> None:
    payload = json.dumps({"content": MULTIBYTE}, ensure_ascii=False)
    raw = f"data: {payload}\n\n".encode()
    for cut in range(len(raw) + 1):
        assert decode_all(raw[:cut], raw[cut:]) == [payload], cut
    assert decode_all(*(raw[i : i + 1] for i in range(len(raw)))) == [payload]


def test_decoder_splits_crlf_and_cr_lines() -> None:
    raw = b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"
    assert decode_all(raw) == ["a", "b", "c"]
    assert decode_all(*(raw[i : i + 1] for i in range(len(raw)))) == ["a", "b", "c"]


def test_decoder_ignores_comments_blank_lines_and_other_fields() -> None:
    raw = b": keep-alive\n\nevent: message\nid: 7\nretry: 100\n\n\ndata: x\n\n:ping\r\n\r\n"
    assert decode_all(raw) == ["x"]


def test_decoder_accepts_data_without_space_and_strips_only_one() -> None:
    assert decode_all(b'data:{"a":1}\n', b"data:  two\n") == ['{"a":1}', " two"]


def test_decoder_returns_a_payload_only_once_its_line_is_complete() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"da") == []
    assert decoder.feed(b"ta: hel") == []
    assert decoder.feed(b"lo\n") == ["hello"]
    assert decoder.close() == []


def test_decoder_processes_a_last_line_without_newline_at_close() -> None:
    assert decode_all(b"data: [DONE]") == ["[DONE]"]


def test_decoder_rejects_invalid_and_truncated_utf8() -> None:
    with pytest.raises(GenerationError, match="invalid UTF-8"):
        SSEDecoder().feed(b"data: \xff\n")
    decoder = SSEDecoder()
    decoder.feed("data: é".encode()[:-1])
    with pytest.raises(GenerationError, match="UTF-8"):
        decoder.close()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ('{"choices":[{"index":0,"delta":{"role":"assistant"},"finish_reason":null}]}', Chunk("")),
        ('{"choices":[{"index":0,"delta":{"content":"Hé"},"finish_reason":null}]}', Chunk("Hé")),
        ('{"choices":[{"index":0,"delta":{"content":null}}]}', Chunk("")),
        ('{"choices":[{"index":0,"finish_reason":"stop"}]}', Chunk("", "stop")),
        (
            '{"choices":[{"delta":{},"finish_reason":"length","stop_reason":7}]}',
            Chunk("", "length"),
        ),
        ('{"choices":[{"delta":{"content":"!"},"finish_reason":"stop"}]}', Chunk("!", "stop")),
        ('{"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":5}}', Chunk("")),
    ],
    ids=["role-only", "content", "null-content", "no-delta", "vllm", "last-with-text", "usage"],
)
def test_parse_chunk_reads_real_server_shapes(payload: str, expected: Chunk) -> None:
    assert parse_chunk(payload) == expected


@pytest.mark.parametrize(
    "payload", ["{not json", "[]", '{"id": "x"}', '{"choices": "x"}', '{"choices": [{"delta": 3}]}']
)
def test_parse_chunk_rejects_malformed_payloads(payload: str) -> None:
    with pytest.raises(GenerationError, match="malformed"):
        parse_chunk(payload)


@pytest.mark.parametrize("extra", ['"logprob": NaN', '"logprob": -Infinity', '"x": "\\ud83d"'])
def test_parse_chunk_reads_what_python_json_reads_beyond_strict_json(extra: str) -> None:
    # orjson (the fast path) refuses these; the answer must not change because of it
    payload = '{"choices":[{"delta":{"content":"Hi"},"finish_reason":null}],' + extra + "}"
    assert parse_chunk(payload) == Chunk("Hi")


def test_parse_chunk_raises_in_band_errors_with_their_message() -> None:
    with pytest.raises(GenerationError, match="reported an error: CUDA out of memory"):
        parse_chunk('{"error": {"message": "CUDA out of memory", "type": "InternalServerError"}}')


@pytest.fixture(scope="module", params=[True, False], ids=["chunked", "close-delimited"])
def fake(request: pytest.FixtureRequest) -> Iterator[FakeLLM]:
    """One fake endpoint per framing: chunked encoding, and a body that ends at close."""
    with FakeLLM(chunked=request.param) as server:
        yield server


def user(content: str) -> list[dict]:
    """A conversation of one user message."""
    return [{"role": "user", "content": content}]


def collect(chunks: Iterator[Chunk]) -> tuple[str, list[Chunk]]:
    """Drain a stream; return its text and its chunks."""
    received = list(chunks)
    return "".join(c.text for c in received), received


@pytest.mark.timeout(30)
def test_stream_gives_the_exact_multibyte_answer_in_many_chunks(fake: FakeLLM) -> None:
    messages = user(f"Tell me about {MULTIBYTE} #tokens=500")
    text, chunks = collect(stream_chat(fake.url + "/alpha/v1", "m", messages))
    assert text == expected_text("alpha", messages)
    assert {"é", "中", "🎉", "\u0301"} <= set(text)
    assert len(chunks) > 100
    assert [c.finish_reason for c in chunks] == [None] * (len(chunks) - 1) + ["stop"]


@pytest.mark.timeout(30)
def test_stream_sends_model_messages_params_and_key(fake: FakeLLM) -> None:
    messages = user("hello")
    params = {"temperature": 0.3, "top_p": 0.9, "stream_options": {"include_usage": True}}
    url = fake.url + "/beta/v1/"  # a trailing slash must not double up
    text, _ = collect(stream_chat(url, "m1", messages, api_key="sk-1", params=params))
    assert text == expected_text("beta", messages, {"temperature": 0.3})
    assert text != expected_text("beta", messages, {"temperature": 0.7})
    path, body = fake.requests[-1]
    assert path == "/beta/v1/chat/completions"
    expected = {"model": "m1", "messages": messages, "stream": True, "temperature": 0.3}
    assert body == expected | {"top_p": 0.9}  # no stream_options: llama.cpp rejects it
    assert fake.headers[-1]["Authorization"] == "Bearer sk-1"
    collect(stream_chat(url, "m1", messages))
    assert "Authorization" not in fake.headers[-1]


@pytest.mark.timeout(30)
def test_the_api_key_wins_over_a_netrc_entry_for_the_host(fake: FakeLLM, tmp_path, monkeypatch):
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login someone password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))  # as ~/.netrc would
    messages = user("hello")
    collect(stream_chat(fake.url + "/beta/v1", "m1", messages, api_key="sk-1"))
    assert fake.headers[-1]["Authorization"] == "Bearer sk-1"


@pytest.mark.timeout(30)
def test_max_tokens_cuts_the_answer_with_finish_reason_length(fake: FakeLLM) -> None:
    messages = user("long one #tokens=40")
    text, chunks = collect(stream_chat(fake.url + "/alpha/v1", "m", messages, max_tokens=10))
    assert fake.requests[-1][1]["max_tokens"] == 10
    assert text == expected_text("alpha", messages, max_tokens=10)
    assert len(expected_tokens("alpha", messages)) == 40
    assert chunks[-1].finish_reason == "length"


@pytest.mark.timeout(30)
def test_a_finished_answer_without_done_still_succeeds(fake: FakeLLM) -> None:
    messages = user("#fail=nodone")
    text, chunks = collect(stream_chat(fake.url + "/alpha/v1", "m", messages))
    assert text == expected_text("alpha", messages)
    assert chunks[-1].finish_reason == "stop"


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("directive", "message"),
    [
        ("http500", r"HTTP 500.*fake failure 500"),
        ("http429", r"HTTP 429.*fake failure 429"),
        ("drop", r"dropped mid-stream|ended before the answer was complete"),
        ("nofinish", r"without a finish_reason \(llama\.cpp"),
        ("garbage", r"malformed chunk: \{not json"),
    ],
)
def test_each_failure_raises_a_helpful_error(fake: FakeLLM, directive: str, message: str) -> None:
    received: list[Chunk] = []
    with pytest.raises(GenerationError, match=message):
        received.extend(stream_chat(fake.url + "/alpha/v1", "m", user(f"#fail={directive}")))
    assert all(c.finish_reason is None for c in received)


@pytest.mark.timeout(15)
def test_a_stalled_endpoint_hits_the_read_timeout_after_the_tokens_it_sent(fake: FakeLLM) -> None:
    messages = user("#fail=stall")
    received: list[Chunk] = []
    stream = stream_chat(fake.url + "/alpha/v1", "m", messages, timeouts=Timeouts(read=0.5))
    with pytest.raises(GenerationError, match=r"silent for more than 0\.5 s"):
        received.extend(stream)
    # tokens must reach the caller as they arrive, not when the body ends
    assert "".join(c.text for c in received) == "".join(expected_tokens("alpha", messages)[:3])


@pytest.mark.timeout(15)
def test_the_total_limit_ends_a_generation_that_keeps_streaming(fake: FakeLLM) -> None:
    messages = user("#tokens=5000 #delay=0.005")
    with pytest.raises(GenerationError, match=r"exceeded the 0\.3 s limit"):
        collect(stream_chat(fake.url + "/alpha/v1", "m", messages, timeouts=Timeouts(total=0.3)))


def unused_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.timeout(15)
def test_connection_refused_raises_and_names_the_endpoint() -> None:
    url = f"http://127.0.0.1:{unused_port()}/v1"
    with pytest.raises(GenerationError, match=r"could not connect to http://127\.0\.0\.1:\d+/v1"):
        collect(stream_chat(url, "m", user("hi")))


@pytest.mark.timeout(15)
def test_the_api_key_never_appears_in_an_error(fake: FakeLLM) -> None:
    key = "sk-very-secret-123"
    # the fake echoes the Authorization header in its error body, as careless proxies do
    with pytest.raises(GenerationError, match=r"HTTP 401.*Bearer \*\*\*") as caught:
        collect(stream_chat(fake.url + "/v1", "m", user("#fail=http401"), api_key=key))
    assert key not in str(caught.value)
    url = f"http://user:pw-{key}@127.0.0.1:{unused_port()}/v1?key=q-{key}"
    with pytest.raises(GenerationError, match="could not connect") as caught:
        collect(stream_chat(url, "m", user("hi")))
    assert key not in str(caught.value)


@pytest.mark.timeout(30)
def test_closing_the_stream_early_hangs_up_on_the_endpoint(fake: FakeLLM) -> None:
    aborted = fake.aborted
    responses: list[requests.Response] = []  # held, so garbage collection cannot do the closing
    with requests.Session() as session:
        session.hooks["response"].append(lambda response, **_: responses.append(response))
        messages = user("#tokens=5000 #delay=0.005")
        stream = stream_chat(fake.url + "/alpha/v1", "m", messages, session=session)
        assert next(stream).text
        next(stream)
        stream.close()  # what cancellation does
        assert fake.wait_until(lambda f: f.aborted == aborted + 1, timeout=10)
    assert len(responses) == 1


@pytest.mark.timeout(30)
def test_generations_on_the_endpoint_session_share_one_connection(fake: FakeLLM) -> None:
    """A worker's next generation skips the TCP (and TLS) handshake: the connection of a
    stream read to its end serves it. A body that ends when the connection closes cannot."""
    messages = user("again")
    before = fake.connections
    with endpoint_session() as session:
        for _ in range(3):
            text, _ = collect(stream_chat(fake.url + "/alpha/v1", "m", messages, session=session))
            assert text == expected_text("alpha", messages)
    assert fake.connections - before == (1 if fake.chunked else 3)


@pytest.mark.timeout(30)
def test_the_environment_s_proxy_settings_apply_and_are_read_once_per_endpoint(
    fake: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`HTTP_PROXY` and `NO_PROXY` still route a generation, but the session reads them
    once per endpoint, not at every request (requests walks the whole environment)."""
    import requests.sessions

    url, messages, reads = fake.url + "/alpha/v1", user("through"), []
    real = requests.sessions.get_environ_proxies
    monkeypatch.setattr(
        requests.sessions,
        "get_environ_proxies",
        lambda *args, **kwargs: reads.append(args[0]) or real(*args, **kwargs),
    )
    for name in ("http_proxy", "no_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:1")  # nothing listens there
    with endpoint_session() as session, pytest.raises(GenerationError):
        collect(stream_chat(url, "m", messages, session=session))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    reads.clear()
    with endpoint_session() as session:
        for _ in range(3):
            text, _ = collect(stream_chat(url, "m", messages, session=session))
            assert text == expected_text("alpha", messages)
    assert len(reads) == 1


@pytest.mark.timeout(30)
def test_a_request_lost_on_a_kept_alive_connection_goes_again(fake_llm: FakeLLM) -> None:
    """An endpoint may close an idle kept-alive connection just as the next generation
    reuses it (uvicorn, behind vLLM, does after 5 s): the request is lost unanswered, so it
    goes once more, on a new connection, and the slot never hears of it. (Chunked bodies
    only: a body that ends with its connection leaves nothing to reuse.)"""
    fake = fake_llm
    url, before = fake.url + "/alpha/v1", fake.connections
    messages = user("#fail=stale again")
    with endpoint_session() as session:
        collect(stream_chat(url, "m", user("first"), session=session))
        text, _ = collect(stream_chat(url, "m", messages, session=session))
    assert text == expected_text("alpha", messages)
    assert fake.connections - before == 2


@pytest.mark.timeout(30)
def test_an_endpoint_that_hangs_up_without_answering_is_named(fake: FakeLLM) -> None:
    """The one retry does not hide an endpoint that never answers: the second hang-up is
    the slot's error, in words, and no third request follows."""
    url, before = fake.url + "/alpha/v1", fake.connections
    with endpoint_session() as session, pytest.raises(GenerationError) as caught:
        collect(stream_chat(url, "m", user("#fail=hangup"), session=session))
    assert str(caught.value) == f"{url}/chat/completions closed the connection without answering"
    assert fake.connections - before == 2


@pytest.mark.timeout(30)
def test_a_reused_connection_gets_the_full_read_timeout_again(fake: FakeLLM) -> None:
    """The end of a body is awaited briefly after [DONE]; the next stream on the connection
    waits as long as the endpoint's read timeout says."""
    url, timeouts = fake.url + "/alpha/v1", Timeouts(read=5)
    slow = user("#first_delay=1.5 a slow start")
    with endpoint_session() as session:
        collect(stream_chat(url, "m", user("first"), session=session, timeouts=timeouts))
        text, _ = collect(stream_chat(url, "m", slow, session=session, timeouts=timeouts))
    assert text == expected_text("alpha", slow)


@pytest.mark.timeout(30)
def test_a_body_held_open_after_done_neither_holds_the_answer_nor_is_reused(
    fake: FakeLLM,
) -> None:
    """A server that keeps the body open after [DONE] does not keep the slot waiting for the
    read timeout (60 s here, past this test's limit): the answer is complete at once, and the
    next generation gets a new connection."""
    url, before = fake.url + "/alpha/v1", fake.connections
    messages = user("#fail=linger #tokens=5")
    with endpoint_session() as session:
        text, chunks = collect(stream_chat(url, "m", messages, session=session))
        assert (text, chunks[-1].finish_reason) == (expected_text("alpha", messages), "stop")
        collect(stream_chat(url, "m", user("next"), session=session))
    assert fake.connections - before == 2
