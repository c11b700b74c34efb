"""The admin area's contract: who gets in (401 / 403 / 200), and what the leaderboard and
raters pages and calls answer, in `anonymous` and `invite` modes."""

from __future__ import annotations

import json
import re

import pytest

from app.extensions import db
from app.models import Rater
from app.vocabulary import ADMIN
from tests.admin_helpers import ADMIN_API, ADMIN_PAGES, admin_client, invite_link, sign_in_as
from tests.stored_votes import _close_connections  # noqa: F401
from tests.synthetic_raters import add_crowd

EVERY = ADMIN_PAGES + ADMIN_API
INVITE = pytest.mark.settings(AUTH_MODE="invite")


def is_api(path: str) -> bool:
    return path.startswith("/api/")


@pytest.mark.parametrize("path", EVERY)
def test_anonymous_mode_an_anonymous_browser_is_no_admin(client, path):
    client.get("/")  # the browser becomes an anonymous rater, as in the chat
    response = client.get(path)
    assert response.status_code == 403
    if is_api(path):
        assert response.get_json()["error"]["code"] == "forbidden"
    else:
        assert "is not an admin" in response.text


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_mode_a_new_browser_is_asked_to_sign_in_on_a_page(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert "flask raters invite NAME --admin" in response.text


@INVITE
@pytest.mark.parametrize("path", EVERY)
def test_invite_mode_nobody_signed_in_gets_401(client, path):
    response = client.get(path)
    assert response.status_code == 401
    if is_api(path):
        assert response.get_json()["error"]["code"] == "unauthorized"
    else:
        assert "Sign in as an admin" in response.text


@INVITE
@pytest.mark.parametrize("path", EVERY)
def test_invite_mode_a_rater_who_is_not_admin_gets_403(app, client, path):
    sign_in_as(app, client, "carol")
    response = client.get(path)
    assert response.status_code == 403
    if is_api(path):
        assert response.get_json()["error"]["code"] == "forbidden"
    else:
        assert "carol" in response.text


@pytest.mark.parametrize("mode", ["anonymous", "invite"])
def test_an_admin_signed_in_by_invite_link_gets_every_admin_call(app, runner, mode):
    app.config["AUTH_MODE"] = mode
    client = app.test_client()
    signin = client.get(invite_link(runner, "boss", admin=True))
    assert signin.status_code == 303
    for path in EVERY:
        response = client.get(path)
        response.close()  # the export's file
        assert response.status_code == 200, (path, response.text[:300])
        assert response.headers["Cache-Control"] == "no-store"
    assert client.get("/api/me").get_json()["rater"]["role"] == ADMIN


def test_a_disabled_admin_is_out_at_the_next_request(app, runner):
    client = admin_client(app)
    assert client.get("/api/admin/raters").status_code == 200
    assert runner.invoke(args=["raters", "disable", "boss-admin"]).exit_code == 0
    assert client.get("/api/admin/raters").status_code == 401
    page = client.get("/admin")
    assert page.status_code == 401 and "disabled" in page.text


def test_leaderboard_is_the_stats_json_of_the_cli(app, runner, votes):
    client = admin_client(app)
    for query, options in (
        ("?rounds=40&seed=3", ["--rounds", "40", "--seed", "3"]),
        ("?rounds=40&include_reroll=1", ["--rounds", "40", "--include-reroll"]),
    ):
        cli = runner.invoke(args=["preferences", "stats", "--json", *options])
        assert cli.exit_code == 0, cli.output
        api = client.get("/api/admin/leaderboard" + query)
        assert api.status_code == 200
        assert api.get_json() == json.loads(cli.stdout)
    board = client.get("/api/admin/leaderboard?rounds=10").get_json()
    assert board["include_reroll"] is False and board["reroll_votes_left_out"] == 1


def test_leaderboard_options_are_checked(app):
    client = admin_client(app)
    for query in ("?rounds=lots", "?rounds=-1", "?include_reroll=maybe"):
        response = client.get("/api/admin/leaderboard" + query)
        assert response.status_code == 422, query
        assert response.get_json()["error"]["code"] == "invalid_value"


def test_raters_call_is_the_raters_json_of_the_cli(app, runner):
    with app.app_context():
        add_crowd()
    client = admin_client(app)
    api = client.get("/api/admin/raters").get_json()
    cli = json.loads(runner.invoke(args=["preferences", "raters", "--json"]).stdout)
    assert api == cli
    assert {r["name"] for r in api["raters"] if r["flags"]} == {"always-a", "speedy", "tie-lover"}


def _no_inline_code(html: str) -> None:
    # The CSP allows no inline styles or scripts: nothing on the page may need them.
    assert "<script" not in html
    assert not re.search(r"\sstyle=", html)
    assert not re.search(r"\son[a-z]+=", html)


def test_leaderboard_page_draws_bars_matrix_bias_and_says_rerolls_are_left_out(app, votes):
    client = admin_client(app)
    html = client.get("/admin?rounds=20").text
    _no_inline_code(html)
    # alpha and beta; gamma's one battle is a re-roll. The third plain bar is position bias.
    assert html.count('class="ci plain"') == 3 and html.count('class="ci controlled"') == 2
    assert "re-roll votes are <strong>left out</strong>" in html
    assert 'href="/admin?include_reroll=1"' in html
    assert 'id="position-bias"' in html and "Win rates head to head" in html
    assert "Length-controlled" in html and 'id="covariates"' in html
    included = client.get("/admin?rounds=20&include_reroll=1").text
    assert "Re-roll votes are <strong>included</strong>" in included


def test_raters_page_shows_each_rater_with_flags(app):
    with app.app_context():
        add_crowd()
    client = admin_client(app)
    html = client.get("/admin/raters").text
    _no_inline_code(html)
    row = re.search(r'<tr class="flagged" data-rater="always-a">(.*?)</tr>', html, re.DOTALL)
    assert row and "position bias" in row.group(1)
    honest = re.search(r'<tr class="" data-rater="honest-1">(.*?)</tr>', html, re.DOTALL)
    assert honest and 'class="flag"' not in honest.group(1)
    assert "3 flagged" in html


def test_export_page_offers_the_cli_options(app):
    client = admin_client(app)
    with app.app_context():
        db.session.add(Rater(name="dora", kind="invite"))
        db.session.commit()
    html = client.get("/admin/export").text
    _no_inline_code(html)
    assert 'action="/api/admin/export"' in html
    for name in ("format", "since", "until", "trigger", "rater", "exclude_flagged"):
        assert f'name="{name}"' in html
    assert '<option value="dora">' in html
