"""Raters: invites (hashed, single-use, expiring), OpenID Connect raters, the `flask raters`
commands, and the settings of AUTH_MODE."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from app.extensions import db
from app.models import Invite, Rater, utcnow
from app.raters import (
    InviteRefused,
    create_invite,
    find_or_create_oidc_rater,
    find_rater,
    invite_rater,
    redeem_invite,
)
from config import ConfigError, check_auth
from tests.stack import ROOT

OIDC = {
    "AUTH_MODE": "oidc",
    "OIDC_ISSUER": "http://127.0.0.1:9/never-contacted",
    "OIDC_CLIENT_ID": "duet",
    "OIDC_CLIENT_SECRET": "secret",
}


def invite(runner, *args: str) -> str:
    """Run `flask raters invite ...`; its one line of output, the link."""
    result = runner.invoke(args=["raters", "invite", *args])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1, result.stdout
    return lines[0]


def token_of(link: str) -> str:
    return link.rsplit("/signin/", 1)[1]


# --------------------------------------------------------------------------- the CLI


@pytest.mark.settings(PUBLIC_URL="https://duet.example.org")
def test_invite_prints_one_link_and_stores_only_the_tokens_hash(app, runner):
    link = invite(runner, "Ada Lovelace", "--email", "ada@example.org")
    assert link.startswith("https://duet.example.org/signin/")
    token = token_of(link)
    assert len(token) >= 43  # secrets.token_urlsafe(32)
    with app.app_context():
        rater = find_rater("Ada Lovelace")
        assert (rater.kind, rater.role, rater.email) == ("invite", "rater", "ada@example.org")
        stored = db.session.scalars(select(Invite)).all()
        assert [i.token_hash for i in stored] == [hashlib.sha256(token.encode()).hexdigest()]
        assert stored[0].rater_id == rater.id and stored[0].used_at is None
        expires_in = stored[0].expires_at.replace(tzinfo=None) - utcnow().replace(tzinfo=None)
        assert timedelta(hours=71.9) < expires_in <= timedelta(hours=72)
        # The token itself is nowhere in the database.
        dump = "\n".join(
            str(row)
            for table in ("raters", "invites")
            for row in db.session.execute(text(f"SELECT * FROM {table}"))
        )
        assert token not in dump


def test_public_url_defaults_to_the_local_port(app, runner):
    """Without PUBLIC_URL the link points at this machine's $PORT."""
    env = {**os.environ, "PORT": "8123"}
    env.pop("PUBLIC_URL", None)
    code = "import config; print(config.Config.PUBLIC_URL)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "http://127.0.0.1:8123"


def test_inviting_again_keeps_the_rater_and_gives_a_new_link(app, runner):
    first = invite(runner, "Grace")
    second = invite(runner, "Grace", "--admin", "--expires", "1")
    assert first != second
    with app.app_context():
        raters = db.session.scalars(select(Rater).where(Rater.name == "Grace")).all()
        assert len(raters) == 1 and raters[0].role == "admin"
        invites = db.session.scalars(select(Invite).order_by(Invite.created_at)).all()
        assert len(invites) == 2 and {i.rater_id for i in invites} == {raters[0].id}
        lifetime = invites[1].expires_at - invites[1].created_at
        assert timedelta(minutes=59) < lifetime <= timedelta(hours=1)
    # Inviting without --admin takes no role away.
    invite(runner, "Grace")
    with app.app_context():
        assert find_rater("Grace").role == "admin"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   "], "must not be blank"),
        (["x" * 201], "at most 200"),
        (["anonymous-abc"], "anonymous raters'"),
        (["Bob", "--expires", "0"], "--expires"),
        (["Bob", "--expires", "soon"], "--expires"),
    ],
)
def test_invite_refuses_a_bad_name_or_lifetime(app, runner, args, message):
    result = runner.invoke(args=["raters", "invite", *args])
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        assert db.session.scalars(select(Invite)).all() == []


def test_list_shows_named_raters_then_anonymous_ones(app, runner, client):
    client.get("/")  # an anonymous rater
    invite(runner, "Zoe", "--email", "zoe@example.org")
    invite(runner, "Al", "--admin")
    rows = [
        json.loads(line)
        for line in runner.invoke(args=["raters", "list", "--json"]).stdout.splitlines()
    ]
    assert [(r["name"], r["role"], r["kind"]) for r in rows[:2]] == [
        ("Al", "admin", "invite"),
        ("Zoe", "rater", "invite"),
    ]
    assert rows[1]["email"] == "zoe@example.org" and rows[1]["disabled_at"] is None
    assert len(rows) == 3 and rows[2]["kind"] == "anonymous"
    assert rows[2]["name"] == "anonymous-" + rows[2]["id"]
    plain = runner.invoke(args=["raters", "list"]).stdout.splitlines()
    assert plain[0].startswith("Al  admin  invite") and "zoe@example.org" in plain[1]


def test_disable_names_the_rater_and_refuses_an_unknown_one(app, runner):
    invite(runner, "Eve")
    result = runner.invoke(args=["raters", "disable", "Eve"])
    assert result.exit_code == 0 and "Disabled Eve" in result.output
    with app.app_context():
        assert find_rater("Eve").disabled
    unknown = runner.invoke(args=["raters", "disable", "Nobody"])
    assert unknown.exit_code == 1
    assert "No rater is called 'Nobody'" in unknown.output
    # Inviting a disabled rater enables them again.
    invite(runner, "Eve")
    with app.app_context():
        assert not find_rater("Eve").disabled


def test_help_comes_from_the_docstrings(runner):
    for command, phrase in (
        ("invite", "one-time sign-in link"),
        ("list", "named ones first"),
        ("disable", "401"),
    ):
        result = runner.invoke(args=["raters", command, "--help"])
        assert result.exit_code == 0 and phrase in result.output, result.output


# --------------------------------------------------------------------------- invites


def test_an_invite_signs_in_once(app):
    with app.app_context():
        token = create_invite(invite_rater("Once"))
        assert redeem_invite(token).name == "Once"
        with pytest.raises(InviteRefused) as used:
            redeem_invite(token)
        assert used.value.status == 410 and "used already" in used.value.message


def test_an_expired_or_unknown_invite_signs_nobody_in(app):
    with app.app_context():
        token = create_invite(invite_rater("Late"), hours=1)
        invite_row = db.session.get(Invite, hashlib.sha256(token.encode()).hexdigest())
        invite_row.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        with pytest.raises(InviteRefused) as expired:
            redeem_invite(token)
        assert expired.value.status == 410 and "expired" in expired.value.message
        assert db.session.get(Invite, invite_row.token_hash).used_at is None
        for unknown in ("nope", "", "x" * 5000, token[:-1]):
            with pytest.raises(InviteRefused) as refused:
                redeem_invite(unknown)
            assert refused.value.status == 404


def test_a_disabled_raters_invite_signs_nobody_in(app, runner):
    with app.app_context():
        token = create_invite(invite_rater("Mallory"))
    runner.invoke(args=["raters", "disable", "Mallory"])
    with app.app_context():
        with pytest.raises(InviteRefused) as refused:
            redeem_invite(token)
        assert refused.value.status == 403


def test_racing_requests_with_one_link_sign_in_once(app):
    """Eight threads redeem the same link at once: one gets the rater, the others a 410."""
    with app.app_context():
        token = create_invite(invite_rater("Racer"))
    outcomes: list[object] = []
    barrier = threading.Barrier(8)

    def redeem() -> None:
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(redeem_invite(token).name)
            except InviteRefused as refused:
                outcomes.append(refused.status)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes, key=str) == sorted(["Racer"] + [410] * 7, key=str)


# --------------------------------------------------------------------------- OpenID Connect


@pytest.mark.settings(**OIDC, OIDC_ADMIN_EMAILS=["boss@example.org"])
def test_an_oidc_rater_is_found_by_subject_and_admin_by_email(app):
    with app.app_context():
        first = find_or_create_oidc_rater("sub-1", "Ada", "ada@example.org")
        assert (first.kind, first.role, first.name, first.oidc_sub) == (
            "oidc",
            "rater",
            "Ada",
            "sub-1",
        )
        again = find_or_create_oidc_rater("sub-1", "Ada L.", "ada@new.example.org")
        assert again.id == first.id and again.name == "Ada"  # the name stays
        assert again.email == "ada@new.example.org"
        boss = find_or_create_oidc_rater("sub-2", "Boss", "Boss@Example.org")
        assert boss.role == "admin"


@pytest.mark.settings(**OIDC)
def test_oidc_names_that_clash_get_told_apart(app):
    with app.app_context():
        invite_rater("Sam")
        db.session.commit()
        by_email = find_or_create_oidc_rater("s1", "Sam", "sam@example.org")
        assert by_email.name == "Sam <sam@example.org>"
        numbered = find_or_create_oidc_rater("s2", "Sam", None)
        assert numbered.name == "Sam (2)"
        nameless = find_or_create_oidc_rater("s3", None, None)
        assert nameless.name == "oidc s3"
        sneaky = find_or_create_oidc_rater("s4", "anonymous-123", None)
        assert not sneaky.name.startswith("anonymous-")


# --------------------------------------------------------------------------- settings


def test_auth_mode_must_be_known():
    with pytest.raises(ConfigError, match="AUTH_MODE must be one of"):
        check_auth({"AUTH_MODE": "ldap"})
    for mode in ("anonymous", "invite"):
        check_auth({"AUTH_MODE": mode})


def test_oidc_mode_needs_the_providers_settings():
    with pytest.raises(ConfigError, match="OIDC_CLIENT_ID, OIDC_CLIENT_SECRET"):
        check_auth({"AUTH_MODE": "oidc", "OIDC_ISSUER": "https://id.example.org"})
    check_auth(OIDC)


def test_settings_are_read_from_the_environment():
    env = {
        **os.environ,
        "AUTH_MODE": "OIDC",
        "OIDC_ISSUER": "https://id.example.org/realms/duet/",
        "OIDC_CLIENT_ID": "duet",
        "OIDC_CLIENT_SECRET": "s",
        "OIDC_ADMIN_EMAILS": " Boss@Example.org, ops@example.org ,",
        "PUBLIC_URL": "https://duet.example.org/",
    }
    code = (
        "import config; c = config.Config; "
        "print(c.AUTH_MODE, c.OIDC_ISSUER, c.OIDC_ADMIN_EMAILS, c.PUBLIC_URL)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split(" ", 1)[0] == "oidc"
    assert "https://id.example.org/realms/duet " in out.stdout
    assert "['boss@example.org', 'ops@example.org']" in out.stdout
    assert out.stdout.strip().endswith("https://duet.example.org")
    bad = subprocess.run(
        [sys.executable, "-c", "import config"],
        cwd=ROOT,
        env={**os.environ, "PUBLIC_URL": "duet.example.org"},
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "PUBLIC_URL must start with http" in bad.stderr
