"""Exports as downloads (`GET /api/admin/export`): the CLI's bytes for the same options, and
the `--rater` and `--exclude-flagged` filters on both."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import Edit, Feedback, Rating, Skip, Turn
from tests.admin_helpers import admin_client
from tests.stored_votes import _close_connections  # noqa: F401
from tests.synthetic_raters import VOTES, add_crowd

# (CLI options, the same as a query string)
CASES = [
    ([], ""),
    (["--format", "raw"], "format=raw"),
    (["--format", "kto", "--since", "2026-11-02T10:00"], "format=kto&since=2026-11-02T10:00"),
    (
        ["--format", "openai", "--since", "2026-11-02", "--until", "2026-11-02T12:30:00+01:00"],
        "format=openai&since=2026-11-02&until=2026-11-02T12:30:00%2B01:00",
    ),
    (["--format", "sharegpt", "--rater", "speedy"], "format=sharegpt&rater=speedy"),
    (["--format", "raw", "--exclude-flagged"], "format=raw&exclude_flagged=1"),
    (["--trigger", "sampled", "--endpoint", "alpha"], "trigger=sampled&endpoint=alpha"),
    (["--unpaired", "--rater", "honest-2"], "unpaired=1&rater=honest-2"),
    # With thumbs, edits and skips stored (the crowd fixture adds some), kto and raw carry
    # lines for them after the votes; --with-edits a pair per edit.
    (["--format", "kto"], "format=kto"),
    (["--format", "trl", "--with-edits"], "format=trl&with_edits=1"),
    (["--format", "raw", "--first-turns"], "format=raw&first_turns=1"),
]


@pytest.fixture
def crowd(app):
    """The generated raters, and a thumbs, an edit and a skip of honest-1's."""
    with app.app_context():
        raters = add_crowd()
        turns = db.session.scalars(
            select(Turn).join(Feedback).where(Feedback.rater_id == raters["honest-1"].id)
        ).all()
        rater_id = raters["honest-1"].id
        db.session.add(Rating(response_id=turns[0].responses[0].id, rater_id=rater_id, rating="up"))
        db.session.add(
            Edit(response_id=turns[1].responses[1].id, rater_id=rater_id, content="Fixed.")
        )
        db.session.add(Skip(turn_id=turns[2].id, rater_id=rater_id))
        db.session.commit()


def cli_bytes(runner, tmp_path, options: list[str]) -> bytes:
    out = tmp_path / "cli.jsonl"
    result = runner.invoke(args=["preferences", "export", "-o", str(out), "-q", *options])
    assert result.exit_code == 0, result.output
    return out.read_bytes()


@pytest.mark.parametrize(("options", "query"), CASES)
def test_the_download_is_byte_identical_to_the_cli(app, runner, crowd, tmp_path, options, query):
    expected = cli_bytes(runner, tmp_path, options)
    response = admin_client(app).get(f"/api/admin/export?{query}")
    body = response.get_data()
    response.close()

    assert response.status_code == 200
    assert body == expected
    assert response.headers["Content-Disposition"].startswith("attachment; filename=duet-")
    assert response.headers["Content-Disposition"].endswith(".jsonl")
    assert response.mimetype == "application/jsonl"
    assert response.headers["X-Export-Summary"].startswith("Wrote ")


def test_rater_keeps_one_raters_votes(app, runner, crowd, tmp_path):
    lines = cli_bytes(runner, tmp_path, ["--format", "raw", "--rater", "always-a"]).splitlines()
    assert len(lines) == VOTES
    assert {json.loads(line)["choice"] for line in lines} == {"a"}


def test_exclude_flagged_leaves_out_the_flagged_raters(app, runner, crowd, tmp_path):
    def votes(options: list[str]) -> list[dict]:
        lines = cli_bytes(runner, tmp_path, ["--format", "raw", *options]).splitlines()
        return [r for r in map(json.loads, lines) if "record" not in r]  # not thumbs, edits

    assert len(votes([])) == 5 * VOTES
    kept = votes(["--exclude-flagged"])
    assert len(kept) == 2 * VOTES  # the two honest raters'
    assert {r["prompt"][-1]["content"].split(" of ")[1] for r in kept} == {"honest-1", "honest-2"}


def test_bad_options_are_refused_alike(app, runner, crowd, tmp_path):
    client = admin_client(app)
    for options, query, code in (
        (["--rater", "nobody"], "rater=nobody", "rater"),
        (
            ["--since", "2026-12-01", "--until", "2026-11-01"],
            "since=2026-12-01&until=2026-11-01",
            "until",
        ),
        (["--format", "kto", "--unpaired"], "format=kto&unpaired=1", "unpaired"),
        (["--format", "raw", "--with-edits"], "format=raw&with_edits=1", "with_edits"),
    ):
        result = runner.invoke(args=["preferences", "export", "-o", "-", *options])
        assert result.exit_code == 2, result.output
        response = client.get(f"/api/admin/export?{query}")
        assert response.status_code == 422
        error = response.get_json()["error"]
        assert error["code"] == "invalid_value" and error["message"].startswith(code)
    for query in ("format=csv", "since=yesterday", "trigger=single", "exclude_flagged=perhaps"):
        response = client.get(f"/api/admin/export?{query}")
        assert response.status_code == 422, query
