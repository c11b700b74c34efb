"""`/healthz`: 200 when the database and Redis answer, 503 naming the one that does not."""

from __future__ import annotations

from tests.api_helpers import UNUSED_REDIS, app_with


def test_healthz_is_200_when_database_and_redis_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_is_503_naming_redis_when_redis_is_down(app):
    response = app_with(app, REDIS_URL=UNUSED_REDIS).test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] != "ok"
    assert body["database"] == "ok"
    assert body["redis"] != "ok" and "unreachable" in body["redis"]


def test_healthz_is_503_naming_the_database_when_it_is_down(app):
    down = app_with(app, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://duet:duet@127.0.0.1:1/duet")
    response = down.test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] != "ok"
    assert body["redis"] == "ok"
    assert body["database"] != "ok" and "unreachable" in body["database"]
