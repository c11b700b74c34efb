"""Fixtures: the app and its client, a fake model endpoint, and the real running stack.

Redis: a redis-server of the run's own (or DUET_TEST_REDIS_URL): database 15 for the stack, the
ones below for in-process apps and dedicated stacks, flushed before and after.
Database: a SQLite file per run, or DUET_TEST_DATABASE_URL (PostgreSQL); a stack with a
Redis database of its own gets a database of its own too (`own_database`).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, event, make_url, text

from app.streaming import protocol
from app.streaming.enqueue import GENERATE_TASK
from app.streaming.fanout import Fanout
from config import Config, normalise_database_url
from tests.campaign_helpers import campaign_app  # noqa: F401 (the campaign tests' fixture)
from tests.client import DuetClient
from tests.fake_llm import FakeLLM
from tests.oidc.duet import provider  # noqa: F401 (the OpenID Connect tests' provider)
from tests.stack import ROOT, start_private_redis, start_web, start_worker
from tests.stored_votes import votes  # noqa: F401 (a fixture the export tests share)

if os.environ.get("DUET_TEST_REDIS_URL"):
    STACK_REDIS_URL = os.environ["DUET_TEST_REDIS_URL"]
elif shutil.which("redis-server"):
    _private_redis, STACK_REDIS_URL = start_private_redis(Path(tempfile.mkdtemp()))
    atexit.register(lambda: (_private_redis.kill(), _private_redis.wait()))
else:
    STACK_REDIS_URL = "redis://127.0.0.1:6379/15"
_base, _db = STACK_REDIS_URL.rsplit("/", 1)
APP_REDIS_URL = f"{_base}/{int(_db) - 1}"  # the next database down, for in-process apps
TABLES = (
    "ratings",
    "edits",
    "skips",
    "feedback",
    "responses",
    "turns",
    "conversations",
    "invites",
    "raters",
)


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for this run's database file, instance folder and process logs."""
    return tmp_path_factory.mktemp("duet")


def _migrate(url: str, run_dir: Path) -> str:
    """Bring the database at `url` to the latest revision, from empty, with `flask db`."""
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "FLASK_APP": "wsgi",
        "DUET_INSTANCE_PATH": str(run_dir / "instance"),
        "REDIS_URL": APP_REDIS_URL,
    }
    flask = [sys.executable, "-m", "flask"]
    for step in (["db", "downgrade", "base"], ["db", "upgrade"]):
        subprocess.run([*flask, *step], cwd=ROOT, env=env, check=True, capture_output=True)
    return url


@pytest.fixture(scope="session")
def database_url(run_dir: Path) -> str:
    """The database under test, migrated to the latest revision with `flask db upgrade`."""
    url = os.environ.get("DUET_TEST_DATABASE_URL") or f"sqlite:///{run_dir / 'duet.sqlite3'}"
    return _migrate(url, run_dir)


@pytest.fixture(scope="session")
def own_database(database_url: str, run_dir: Path) -> Callable[[str], str]:
    """`own_database(name)`: the URL of a migrated database for a stack that has a Redis
    database of its own (a second deployment, as far as Duet can tell). Two deployments
    must not share a database: each one's sweeper finds the other's slots streaming in
    the database but unknown to its Redis, and restarts them, with a `reset` that reaches
    the other's sockets (Redis pub/sub ignores database numbers). A SQLite file beside
    the main one, or on PostgreSQL a database named `<main>_<name>`, made afresh."""
    made: dict[str, str] = {}

    def make(name: str) -> str:
        if name in made:
            return made[name]
        if database_url.startswith("sqlite"):
            url = f"sqlite:///{run_dir / f'{name}.sqlite3'}"
        else:
            main = make_url(normalise_database_url(database_url))
            target = main.set(database=f"{main.database}_{name}")
            engine = create_engine(main, isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
            engine.dispose()
            url = target.render_as_string(hide_password=False)
        made[name] = _migrate(url, run_dir)
        return made[name]

    return make


def _flush(url: str) -> None:
    redis.Redis.from_url(url).flushdb()


@pytest.fixture(scope="session", autouse=True)
def _clean_redis() -> Iterator[None]:
    for url in (STACK_REDIS_URL, APP_REDIS_URL):
        _flush(url)
    yield
    for url in (STACK_REDIS_URL, APP_REDIS_URL):
        _flush(url)


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLLM]:
    """The stand-in for the model servers: one process, endpoints told apart by path."""
    with FakeLLM() as server:
        yield server


@pytest.fixture(scope="session")
def endpoints(fake_llm: FakeLLM) -> list[dict]:
    """Two configured endpoints on the fake server."""
    return [
        {
            "name": "alpha",
            "base_url": f"{fake_llm.url}/alpha/v1",
            "model": "alpha-model",
            "params": {"temperature": 0.5},
        },
        {
            "name": "beta",
            "base_url": f"{fake_llm.url}/beta/v1",
            "model": "beta-model",
            "api_key": "sk-test-secret",
            "params": {"temperature": 0.9},
        },
    ]


def _settings(database_url: str, redis_url: str, endpoints: list[dict], run_dir: Path) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "REDIS_URL": redis_url,
        "MODEL_ENDPOINTS": endpoints,
        "PREFERENCE_SAMPLE_RATE": 0.0,  # no turn is paired by chance unless a test asks
        "CELERY": {**Config.CELERY, "broker_url": redis_url},  # the real settings, this Redis
        "INSTANCE_PATH": run_dir / "instance",
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_ENABLED": False,  # tests/test_security.py turns it on
    }


@pytest.fixture
def app(database_url: str, endpoints: list[dict], run_dir: Path, request: pytest.FixtureRequest):
    """An in-process app on the migrated database, emptied before each test; a test's
    `settings` marker overrides settings."""
    from app import create_app

    engine = create_engine(normalise_database_url(database_url))
    with engine.begin() as conn:
        for table in TABLES:
            conn.execute(text(f"DELETE FROM {table}"))
    engine.dispose()
    settings = _settings(database_url, APP_REDIS_URL, endpoints, run_dir)
    for marker in request.node.iter_markers("settings"):
        settings.update(marker.kwargs)
    flask_app = create_app(settings)
    yield flask_app
    with flask_app.app_context():  # close pooled connections now, not in a later test's GC
        from app.extensions import db

        db.engine.dispose()


@pytest.fixture(autouse=True)
def _close_stack_clients(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "stack" in request.fixturenames:
        request.getfixturevalue("stack").close_clients()


@pytest.fixture
def client(app):
    """A test client: one anonymous browser."""
    return app.test_client()


@pytest.fixture
def queued(app, monkeypatch) -> list[str]:
    """The response ids queued for the generation task (nothing really goes to Celery)."""
    ids: list[str] = []

    def send_task(name: str, args: tuple, **_options: object) -> None:
        assert name == GENERATE_TASK, name
        ids.extend(args)

    monkeypatch.setattr(app.extensions["celery"], "send_task", send_task)
    return ids


@pytest.fixture
def record_sql(app) -> Callable[[], AbstractContextManager[list[str]]]:
    """`with record_sql() as seen:` lists what the app's database is sent meanwhile: the
    first word of each statement (SELECT, UPDATE...) and COMMIT for each commit."""

    @contextmanager
    def recording() -> Iterator[list[str]]:
        from app.extensions import db

        seen: list[str] = []

        def statement(_conn, _cursor, sql, *_args) -> None:
            seen.append(sql.split()[0].upper())

        def commit(_conn) -> None:
            seen.append("COMMIT")

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", statement)
        event.listen(engine, "commit", commit)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", statement)
            event.remove(engine, "commit", commit)

    return recording


@pytest.fixture
def r() -> Iterator[redis.Redis]:
    """A client of the in-process apps' Redis database, flushed before and after."""
    client = redis.Redis.from_url(APP_REDIS_URL, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def fan(r: redis.Redis) -> Iterator[Fanout]:
    """A shared subscription on that database, as each web process has one."""
    fanout = Fanout(redis.Redis.from_url(APP_REDIS_URL, decode_responses=True), poll=0.05)
    yield fanout
    fanout.close()


@pytest.fixture
def runner(app):
    """A CLI runner for `flask ...` commands."""
    return app.test_cli_runner()


class Stack:
    """The running web and worker processes, and how to reach them."""

    def __init__(self, url: str, env: dict[str, str], processes: dict, run_dir: Path) -> None:
        self.url, self.env, self.processes, self.run_dir = url, env, processes, run_dir
        self.clients: list[DuetClient] = []

    def client(self) -> DuetClient:
        """A new anonymous browser talking to the stack."""
        self.clients.append(DuetClient(self.url))
        return self.clients[-1]

    def close_clients(self) -> None:
        """Close every browser's connections."""
        while self.clients:
            self.clients.pop().http.close()


def stack_env(database_url: str, endpoints: list[dict], run_dir: Path, **extra: str) -> dict:
    """The environment of the stack's processes, as an operator would set it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUET_", "FLASK_"))}
    env.update(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": STACK_REDIS_URL,
            "MODEL_ENDPOINTS": json.dumps(endpoints),
            "SECRET_KEY": "stack-secret-key",
            "DUET_INSTANCE_PATH": str(run_dir / "instance"),
            "PREFERENCE_SAMPLE_RATE": "0",
            "GENERATION_READ_TIMEOUT": "5",
            "PYTHONUNBUFFERED": "1",
            "RATELIMIT_ENABLED": "false",  # the suite sends faster than any person
            **extra,
        }
    )
    return env


@pytest.fixture(scope="session")
def stack(database_url: str, endpoints: list[dict], run_dir: Path) -> Iterator[Stack]:
    """gunicorn (2 processes, gthread) and a Celery worker, on real Redis and the test database."""
    env = stack_env(database_url, endpoints, run_dir)
    logs = run_dir / "logs"
    logs.mkdir(exist_ok=True)
    worker = start_worker(env, logs)
    web, url = start_web(env, logs)
    running = Stack(url, env, {"web": web, "worker": worker}, run_dir)
    yield running
    running.close_clients()
    web.stop()
    worker.stop()


def slot_writer(r: redis.Redis, tid: str, slot: str = "a", restart: bool = False):
    """A new attempt at a slot (leased for a minute) and its writer, as a worker starts one."""
    attempt = protocol.begin_attempt(
        r, tid, slot, lease_ms=60_000, ttl=60, max_attempts=2, restart=restart
    )
    return protocol.SlotWriter(r, tid, slot, 60, attempt, 60_000)


def finish_slot(r: redis.Redis, tid: str, slot: str, seq: int) -> None:
    """End a slot with `done` after `seq` tokens, as its generating task does."""
    assert protocol.claim_terminal(r, tid, slot, 60)
    protocol.emit_terminal(r, tid, protocol.done_event(slot, seq, "stop"), 60)


@pytest.fixture
def other(app):
    """A second anonymous browser with its own cookie."""
    return app.test_client()
