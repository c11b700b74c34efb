"""Configuration from the environment (config.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import pytest

import config
from app import create_app
from config import Config, ConfigError, normalise_database_url

GOOD_ENDPOINT = {"name": "one", "base_url": "http://127.0.0.1:9/v1", "model": "m"}


# --------------------------------------------------------------------------- DATABASE_URL


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgres://u:p@db.example.com:5432/duet",
            "postgresql+psycopg://u:p@db.example.com:5432/duet",
        ),
        (
            "postgresql://u:p@host/duet?sslmode=require",
            "postgresql+psycopg://u:p@host/duet?sslmode=require",
        ),
        ("postgresql+psycopg://u@host/duet", "postgresql+psycopg://u@host/duet"),
        ("sqlite:////tmp/duet.sqlite3", "sqlite:////tmp/duet.sqlite3"),
        ("sqlite://", "sqlite://"),
    ],
)
def test_normalise_database_url(url, expected):
    assert normalise_database_url(url) == expected


def test_database_url_rewrites_heroku_urls_from_the_environment(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgres://user:secret@ec2.example.com:5432/d1")
    assert config.database_url() == "postgresql+psycopg://user:secret@ec2.example.com:5432/d1"


def test_database_url_defaults_to_sqlite_in_the_instance_folder(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = config.database_url()
    assert url.startswith("sqlite:///") and url.endswith("duet.sqlite3")
    assert str(config.INSTANCE_DIR) in url


# --------------------------------------------------------------------------- SECRET_KEY


@pytest.mark.parametrize("key", [None, ""])
def test_production_without_secret_key_refuses_to_start(tmp_path, key):
    settings = {"DUET_ENV": "production", "SECRET_KEY": key, "INSTANCE_PATH": tmp_path}
    with pytest.raises(ConfigError) as caught:
        Config.finalise(settings)
    message = str(caught.value)
    assert "SECRET_KEY" in message and "production" in message
    assert not settings.get("SECRET_KEY")  # no key was made up


def test_create_app_in_production_without_secret_key_raises(tmp_path):
    settings = {
        "DUET_ENV": "production",
        "SECRET_KEY": None,
        "INSTANCE_PATH": tmp_path,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "MODEL_ENDPOINTS": [GOOD_ENDPOINT],
    }
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(settings)


def test_production_with_a_secret_key_starts(tmp_path):
    settings = {"DUET_ENV": "production", "SECRET_KEY": "s3cret", "INSTANCE_PATH": tmp_path}
    settings["MODEL_ENDPOINTS"] = [GOOD_ENDPOINT]
    Config.finalise(settings)
    assert settings["SECRET_KEY"] == "s3cret"


def test_development_without_secret_key_uses_one_shared_random_key(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "INSTANCE_DIR", tmp_path / "instance")
    first = {"DUET_ENV": "development", "INSTANCE_PATH": tmp_path / "instance"}
    second = dict(first)
    Config.finalise(first)
    Config.finalise(second)
    assert len(first["SECRET_KEY"]) >= 32
    assert first["SECRET_KEY"] == second["SECRET_KEY"]  # every local process signs alike


def test_a_production_process_without_secret_key_exits_with_the_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DUET_", "FLASK_"))}
    env.pop("SECRET_KEY", None)
    env.update({"DUET_ENV": "production", "DUET_INSTANCE_PATH": str(tmp_path)})
    done = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=config.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and "SECRET_KEY is not set" in done.stderr


# --------------------------------------------------------------------------- MODEL_ENDPOINTS


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("not json", "not valid JSON"),
        ("{}", "non-empty JSON list"),
        ("[]", "non-empty JSON list"),
        ('"http://x/v1"', "non-empty JSON list"),
        ('["http://x/v1"]', "MODEL_ENDPOINTS[0] must be an object"),
        (json.dumps([{"base_url": "http://x/v1", "model": "m"}]), "'name'"),
        (json.dumps([{"name": "a", "model": "m"}]), "'base_url'"),
        (json.dumps([{"name": "a", "base_url": "http://x/v1"}]), "'model'"),
        (json.dumps([{"name": " ", "base_url": "http://x/v1", "model": "m"}]), "'name'"),
        (json.dumps([{"name": "a", "base_url": "x:8000/v1", "model": "m"}]), "http://"),
        (json.dumps([GOOD_ENDPOINT, GOOD_ENDPOINT]), "used twice"),
        (json.dumps([{**GOOD_ENDPOINT, "params": [0.7]}]), "params"),
        (json.dumps([{**GOOD_ENDPOINT, "api_key": 123}]), "api_key"),
        (json.dumps([GOOD_ENDPOINT, {"name": "two"}]), "MODEL_ENDPOINTS[1]"),
    ],
)
def test_malformed_model_endpoints_raise_config_error(monkeypatch, raw, fragment):
    monkeypatch.setenv("MODEL_ENDPOINTS", raw)
    with pytest.raises(ConfigError) as caught:
        config.model_endpoints()
    assert "MODEL_ENDPOINTS" in str(caught.value)
    assert fragment in str(caught.value)


def test_model_endpoints_are_read_from_the_environment(monkeypatch):
    endpoints = [
        GOOD_ENDPOINT,
        {"name": "two", "base_url": "https://api.example.com/v1", "model": "big",
         "api_key": "sk-x", "params": {"temperature": 0.3}},
    ]  # fmt: skip
    monkeypatch.setenv("MODEL_ENDPOINTS", json.dumps(endpoints))
    assert config.model_endpoints() == endpoints


def test_without_model_endpoints_the_bundled_models_are_used(monkeypatch):
    monkeypatch.delenv("MODEL_ENDPOINTS", raising=False)
    endpoints = config.model_endpoints()
    assert endpoints == config.DEFAULT_MODEL_ENDPOINTS
    endpoints[0]["name"] = "changed"
    assert config.DEFAULT_MODEL_ENDPOINTS[0]["name"] != "changed"  # a copy


def test_finalise_reads_model_endpoints_when_not_given(monkeypatch, tmp_path):
    monkeypatch.setenv("MODEL_ENDPOINTS", json.dumps([GOOD_ENDPOINT]))
    settings = {"SECRET_KEY": "k", "INSTANCE_PATH": tmp_path}
    Config.finalise(settings)
    assert settings["MODEL_ENDPOINTS"] == [GOOD_ENDPOINT]
    monkeypatch.setenv("MODEL_ENDPOINTS", "[")
    with pytest.raises(ConfigError):
        Config.finalise({"SECRET_KEY": "k", "INSTANCE_PATH": tmp_path})


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("raw", ["1.5", "-0.1", "2", "abc", "10%"])
def test_preference_sample_rate_out_of_range_or_not_a_number_is_an_error(monkeypatch, raw):
    monkeypatch.setenv("PREFERENCE_SAMPLE_RATE", raw)
    with pytest.raises(ConfigError, match="PREFERENCE_SAMPLE_RATE"):
        config._float("PREFERENCE_SAMPLE_RATE", 0.1, 0.0, 1.0)


@pytest.mark.parametrize(("raw", "value"), [("0", 0.0), ("1", 1.0), ("0.25", 0.25), (" ", 0.1)])
def test_preference_sample_rate_in_range_is_read(monkeypatch, raw, value):
    monkeypatch.setenv("PREFERENCE_SAMPLE_RATE", raw)
    assert config._float("PREFERENCE_SAMPLE_RATE", 0.1, 0.0, 1.0) == value


def test_preference_sample_rate_defaults_to_a_tenth(monkeypatch):
    monkeypatch.delenv("PREFERENCE_SAMPLE_RATE", raising=False)
    assert config._float("PREFERENCE_SAMPLE_RATE", 0.1, 0.0, 1.0) == 0.1


def _import_config(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DUET_", "FLASK_"))}
    for name in ("PREFERENCE_SAMPLE_RATE", "MAX_MESSAGE_CHARS", "ALTERNATE_PARAMS"):
        clean.pop(name, None)
    return subprocess.run(
        [sys.executable, "-c", "import config; print(config.Config.PREFERENCE_SAMPLE_RATE)"],
        cwd=config.BASE_DIR,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_real_config_refuses_a_sample_rate_out_of_range():
    done = _import_config(PREFERENCE_SAMPLE_RATE="1.5")
    assert done.returncode != 0
    assert "ConfigError" in done.stderr and "PREFERENCE_SAMPLE_RATE" in done.stderr
    ok = _import_config(PREFERENCE_SAMPLE_RATE="0.25")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == "0.25"


@pytest.mark.parametrize("raw", ["0", "-5", "many", "1.5"])
def test_limits_must_be_positive_whole_numbers(monkeypatch, raw):
    monkeypatch.setenv("MAX_MESSAGE_CHARS", raw)
    with pytest.raises(ConfigError, match="MAX_MESSAGE_CHARS"):
        config._int("MAX_MESSAGE_CHARS", 16_000)


@pytest.mark.parametrize("raw", ["[1]", "nope", '"x"'])
def test_alternate_params_must_be_a_json_object(monkeypatch, raw):
    monkeypatch.setenv("ALTERNATE_PARAMS", raw)
    with pytest.raises(ConfigError, match="ALTERNATE_PARAMS"):
        config._json_object("ALTERNATE_PARAMS", {})


# --------------------------------------------------------------------------- Celery


def test_every_thread_shares_one_celery_result_backend(app):
    """Celery builds a backend per thread unless told it is thread-safe, and building one
    scans every installed package's entry points: ~25 ms on each new pool thread's first task."""
    celery = app.extensions["celery"]
    first = celery.backend
    seen = []
    thread = threading.Thread(target=lambda: seen.append(celery.backend))
    thread.start()
    thread.join()
    assert seen == [first]


def test_sqlite_connections_use_wal_without_a_sync_per_commit(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite settings")
    from sqlalchemy import text

    from app.extensions import db

    with app.app_context(), db.engine.connect() as conn:
        pragma = {
            name: conn.execute(text(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
        }
    # synchronous 1 = NORMAL: with WAL, commits survive a crash of the process.
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 1,
        "busy_timeout": 15000,
        "foreign_keys": 1,
    }
