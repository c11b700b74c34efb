"""The raters migration on a database made with the previous schema: every row is kept, and
each client id becomes the anonymous rater that owns that client's rows; downgrading gives the
client ids back. On SQLite, or on PostgreSQL with DUET_TEST_DATABASE_URL (a database of its
own beside that one, made afresh)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.sqlite import tune_sqlite
from config import normalise_database_url
from tests.conftest import APP_REDIS_URL
from tests.stack import ROOT

PREVIOUS = "8726099e87c6"
CLIENTS = ("client-A", "client-B", "tok_-With-URL-safe-chars_0123456789abcdefghijklm")


@pytest.fixture
def old_database(tmp_path: Path) -> str:
    """A database of its own, empty."""
    main = os.environ.get("DUET_TEST_DATABASE_URL")
    if not main:
        return f"sqlite:///{tmp_path / 'old.sqlite3'}"
    url = make_url(normalise_database_url(main))
    target = url.set(database=f"{url.database}_migration")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    engine.dispose()
    return target.render_as_string(hide_password=False)


def flask_db(url: str, tmp_path: Path, *args: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FLASK_APP": "wsgi",
        "DUET_INSTANCE_PATH": str(tmp_path / "instance"),
        "REDIS_URL": APP_REDIS_URL,
    }
    done = subprocess.run(
        [sys.executable, "-m", "flask", "db", *args], cwd=ROOT, env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]


def fill_the_old_schema(url: str) -> None:
    """Two conversations per client, a paired turn in each with two responses and a vote."""
    engine = create_engine(normalise_database_url(url))
    with engine.begin() as conn:
        for c, client in enumerate(CLIENTS):
            for k in range(2):
                cid, tid = f"conv{c}{k}", f"turn{c}{k}"
                conn.execute(
                    text(
                        "INSERT INTO conversations (id, client_id, title, created_at) "
                        "VALUES (:id, :client, :title, :at)"
                    ),
                    {"id": cid, "client": client, "title": f"t{c}{k}", "at": f"2026-0{c + 1}-1{k}"},
                )
                conn.execute(
                    text(
                        "INSERT INTO turns (id, conversation_id, position, content, trigger, "
                        "context, created_at) VALUES (:id, :cid, 0, 'hi', 'requested', '[]', "
                        "'2026-01-01')"
                    ),
                    {"id": tid, "cid": cid},
                )
                for slot in "ab":
                    conn.execute(
                        text(
                            "INSERT INTO responses (id, turn_id, slot, endpoint_name, model, "
                            "params, status, content, token_count, queued_at) VALUES (:id, "
                            ":tid, :slot, 'e', 'm', '{}', 'done', :content, 1, '2026-01-01')"
                        ),
                        {"id": f"r{c}{k}{slot}", "tid": tid, "slot": slot, "content": slot * 3},
                    )
                conn.execute(
                    text(
                        "INSERT INTO feedback (turn_id, choice, reason, client_id, created_at) "
                        "VALUES (:tid, 'a', 'because', :client, '2026-03-01')"
                    ),
                    {"tid": tid, "client": client},
                )
    engine.dispose()


def snapshot(url: str, owner: str) -> dict[str, list[tuple]]:
    """Every row of the chat tables, with the owner column named `owner`."""
    engine = create_engine(normalise_database_url(url))
    with engine.connect() as conn:
        rows = {
            "conversations": conn.execute(
                text(f"SELECT id, {owner}, title FROM conversations ORDER BY id")
            ).all(),
            "turns": conn.execute(text("SELECT id, conversation_id FROM turns ORDER BY id")).all(),
            "responses": conn.execute(
                text("SELECT id, turn_id, content FROM responses ORDER BY id")
            ).all(),
            "feedback": conn.execute(
                text(f"SELECT turn_id, choice, reason, {owner} FROM feedback ORDER BY turn_id")
            ).all(),
        }
    engine.dispose()
    return {table: [tuple(r) for r in found] for table, found in rows.items()}


def test_upgrading_keeps_every_row_owned_by_its_rater_and_downgrading_gives_it_back(
    old_database: str, tmp_path: Path
):
    flask_db(old_database, tmp_path, "upgrade", PREVIOUS)
    fill_the_old_schema(old_database)
    before = snapshot(old_database, "client_id")
    assert len(before["responses"]) == 2 * 2 * len(CLIENTS)

    flask_db(old_database, tmp_path, "upgrade")

    assert snapshot(old_database, "rater_id") == before  # same rows, same owners' ids
    engine = create_engine(normalise_database_url(old_database))
    with engine.connect() as conn:
        raters = conn.execute(
            text("SELECT id, name, role, kind, email, disabled_at FROM raters ORDER BY id")
        ).all()
        assert [tuple(r) for r in raters] == [
            (c, f"anonymous-{c}", "rater", "anonymous", None, None) for c in sorted(CLIENTS)
        ]
        created = conn.execute(text("SELECT created_at FROM raters WHERE id = 'client-B'"))
        created = created.scalar()
        assert str(created).startswith("2026-02-10")  # the client's first conversation
    engine.dispose()
    engine = create_engine(normalise_database_url(old_database))
    if old_database.startswith("sqlite"):
        tune_sqlite(engine)  # foreign keys on, as the app has them
    with pytest.raises(IntegrityError), engine.begin() as conn:  # a real foreign key now
        conn.execute(
            text(
                "INSERT INTO conversations (id, rater_id, title, created_at) "
                "VALUES ('x', 'no-such-rater', 't', '2026-01-01')"
            )
        )
    engine.dispose()

    # The app reads the migrated rows: an old cookie's client id is its rater.
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "migration",
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(old_database),
            "REDIS_URL": APP_REDIS_URL,
            "RATELIMIT_ENABLED": False,
            "INSTANCE_PATH": tmp_path / "instance",
        }
    )
    browser = app.test_client()
    with browser.session_transaction() as old_session:
        old_session["client_id"] = "client-B"
    listed = browser.get("/api/conversations").get_json()["conversations"]
    assert sorted(c["id"] for c in listed) == ["conv10", "conv11"]
    turn = browser.get("/api/conversations/conv10").get_json()["turns"][0]
    assert turn["feedback"]["choice"] == "a"
    with app.app_context():
        from app.extensions import db

        db.engine.dispose()

    flask_db(old_database, tmp_path, "downgrade", PREVIOUS)
    assert snapshot(old_database, "client_id") == before
