"""SQLite settings that let the web and worker processes write to one file."""

from sqlalchemy import Engine, event


def tune_sqlite(engine: Engine) -> None:
    """Use WAL and a busy timeout, so concurrent writers wait instead of failing."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
