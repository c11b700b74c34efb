"""Small doors a hostile client or a careless tool could walk through: resume positions in
digits other than ASCII, a chunked body past the size limit, line separators inside exported
JSON lines, and the headers that keep API answers out of caches and the site on HTTPS."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
import requests
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from app.extensions import db
from app.models import DONE, Conversation, Feedback, Response, Turn
from app.raters.accounts import anonymous_rater

# Characters that JSON may carry raw but that str.splitlines() splits on.
LINE_BREAKERS = "\u2028\u2029\u0085"


# --------------------------------------------------------------- after_* in ASCII digits only


@pytest.mark.stack
@pytest.mark.parametrize("raw", ["%C2%B2", "%D9%A3", "1%C2%B2", "%EF%BC%93"])
def test_a_resume_position_in_digits_other_than_ascii_closes_with_4400(stack, raw):
    # "²" passes str.isdigit() and then int() refuses it: a 500 inside the upgraded socket.
    # "٣" (Arabic-Indic three) and "３" (fullwidth) pass both and were read as 3.
    browser = stack.client()
    cid = browser.new_conversation()
    turn = browser.send(cid, "hello #tokens=3")
    received = browser.stream(turn["id"], f"?after_a={raw}", timeout=10)
    assert received.events == []
    assert received.close_code == 4400


@pytest.mark.stack
def test_an_ascii_resume_position_still_resumes(stack):
    browser = stack.client()
    cid = browser.new_conversation()
    turn = browser.send(cid, "hello #tokens=3")
    whole = browser.stream(turn["id"])
    tail = browser.stream(turn["id"], "?after_a=1")
    # A worker's batch may carry several tokens under one seq: compare with what was sent.
    assert tail.seqs("a") == [seq for seq in whole.seqs("a") if seq > 1]
    assert [e["type"] for e in tail.terminals("a")] == ["done"]
    assert tail.close_code == 1000


# ------------------------------------------------------------ chunked bodies past the limit


def _chunked(body: bytes, size: int = 16_384):
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _prompt_body(length: int) -> bytes:
    """A JSON body of exactly `length` bytes: a conversation with a long system prompt."""
    head, tail = b'{"system_prompt": "', b'"}'
    return head + b"x" * (length - len(head) - len(tail)) + tail


def _post_chunked(app, body: bytes):
    """POST /api/conversations as a WSGI server passes a chunked body: no Content-Length,
    and `wsgi.input_terminated` set (gunicorn sets it; it ends the stream at the last chunk)."""
    environ = EnvironBuilder(
        path="/api/conversations",
        method="POST",
        content_type="application/json",
        headers={"Transfer-Encoding": "chunked"},
    ).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["wsgi.input_terminated"] = True
    return app.test_client().open(Request(environ))


@pytest.mark.settings(MAX_CONTENT_LENGTH=4096, MAX_SYSTEM_PROMPT_CHARS=100_000)
def test_a_chunked_body_past_the_limit_is_413_in_process(app):
    refused = _post_chunked(app, _prompt_body(4097))
    assert refused.status_code == 413, refused.get_data(as_text=True)
    assert refused.get_json()["error"]["code"] == "too_large"
    refused = _post_chunked(app, _prompt_body(40_000))
    assert refused.status_code == 413
    # At the limit, or under it, the body is read whole.
    for length in (4096, 4095, 100):
        accepted = _post_chunked(app, _prompt_body(length))
        assert accepted.status_code == 201, (length, accepted.get_data(as_text=True))
        assert len(accepted.get_json()["system_prompt"]) == length - 21


@pytest.mark.stack
def test_a_chunked_body_past_the_limit_is_413_from_gunicorn(stack):
    limit = 262_144  # MAX_CONTENT_LENGTH's default, which the stack runs with
    url = stack.url + "/api/conversations"
    headers = {"Content-Type": "application/json", "Connection": "close"}
    refused = requests.post(url, data=_chunked(_prompt_body(limit + 1)), headers=headers)
    assert refused.request.headers.get("Transfer-Encoding") == "chunked"
    assert refused.status_code == 413, refused.text
    assert refused.json()["error"]["code"] == "too_large"
    small = requests.post(url, data=_chunked(b'{"system_prompt": "hi"}'), headers=headers)
    assert small.status_code == 201, small.text
    assert small.json()["system_prompt"] == "hi"


# ---------------------------------------------------------- line separators in the export


def _vote_with_line_breakers(app) -> str:
    text = f"one{LINE_BREAKERS[0]}two{LINE_BREAKERS[1]}three{LINE_BREAKERS[2]}four\nfive"
    with app.app_context():
        rater = anonymous_rater("c").id
        conversation = Conversation(rater_id=rater, system_prompt=f"sys{LINE_BREAKERS}")
        created = datetime(2026, 11, 1, 12, tzinfo=UTC)
        turn = Turn(
            conversation=conversation,
            position=0,
            content=text,
            trigger="requested",
            context=[{"role": "user", "content": text}],
            created_at=created,
        )
        for slot, endpoint in (("a", "al\u2028pha"), ("b", "be\u0085ta")):
            Response(
                turn=turn,
                slot=slot,
                endpoint_name=endpoint,
                model=f"{endpoint}\u2028model",
                params={"temperature": 0.5, "stop": ["\u2029"]},
                max_tokens=16,
                status=DONE,
                content=f"{slot}:{text}",
                finish_reason="stop",
                token_count=3,
                queued_at=created,
                started_at=created,
                first_token_at=created,
                finished_at=created,
            )
        Feedback(turn=turn, choice="a", reason=f"why{LINE_BREAKERS}", rater_id=rater)
        db.session.add(conversation)
        db.session.commit()
    return text


@pytest.mark.parametrize("fmt", ["trl", "openai", "sharegpt", "kto", "raw"])
def test_exports_escape_line_separators_and_round_trip(app, runner, tmp_path, fmt):
    text = _vote_with_line_breakers(app)
    out = tmp_path / "out.jsonl"
    result = runner.invoke(args=["preferences", "export", "--format", fmt, "-o", str(out)])
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    decoded = data.decode("utf-8")
    for char in LINE_BREAKERS:
        assert char not in decoded, f"{char!r} written raw"
    lines = decoded.splitlines()
    assert lines == decoded.split("\n")[:-1]  # only "\n" ends a record
    records = [json.loads(line) for line in lines]
    assert len(records) == (2 if fmt == "kto" else 1)
    strings = set(_strings(records))
    assert {text, f"a:{text}", f"b:{text}"} <= strings  # read back exactly as stored


def _strings(value: object):
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_stats_json_escapes_line_separators(app, runner):
    _vote_with_line_breakers(app)
    result = runner.invoke(args=["preferences", "stats", "--json", "--rounds", "5"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == result.stdout.count("\n")
    names = {row["endpoint"] for row in json.loads(result.stdout)["leaderboard"]}
    assert names == {"al\u2028pha", "be\u0085ta"}


# -------------------------------------------------------------- HSTS and no-store on the API


def test_production_answers_carry_strict_transport_security(app):
    from app import create_app

    prod = create_app({**app.config, "DUET_ENV": "production"}).test_client()
    for path in ("/", "/api/conversations", "/api/nowhere", "/healthz"):
        header = prod.get(path).headers.get("Strict-Transport-Security", "")
        assert "max-age=31536000" in header and "includeSubDomains" in header, path


def test_development_answers_carry_no_strict_transport_security(client):
    # HSTS on http://localhost would make browsers insist on HTTPS there for a year.
    assert "Strict-Transport-Security" not in client.get("/").headers


@pytest.mark.settings(RATELIMIT_ENABLED=True, RATELIMIT_PER_IP="4/minute")
def test_every_api_answer_says_no_store_errors_included(app, client, r):
    cid = client.post("/api/conversations", json={}).get_json()["id"]
    answers = {
        "ok": client.get(f"/api/conversations/{cid}"),
        "not found": client.get("/api/conversations/" + "0" * 32),
        "bad json": client.post("/api/conversations", data="{", content_type="application/json"),
        "rate limited": client.get(f"/api/conversations/{cid}"),  # the API's fifth call
        "no route": client.get("/api/nowhere"),
        "openapi": client.get("/api/openapi.json"),
    }
    statuses = {name: a.status_code for name, a in answers.items()}
    assert statuses == {
        "ok": 200,
        "not found": 404,
        "bad json": 400,
        "rate limited": 429,
        "no route": 404,
        "openapi": 200,
    }
    for name, answer in answers.items():
        assert answer.headers.get("Cache-Control") == "no-store", name
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
