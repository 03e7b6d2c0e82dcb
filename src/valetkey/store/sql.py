"""The SQL store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL, and the statements of the
request path on the driver directly: sqlite3 on SQLite files (``sqlite_fast``), psycopg on
PostgreSQL (``pg_fast``).

Every method is written once (``sql_tokens``, ``sql_sessions``, ``sql_config``). Atomic steps are
single conditional updates inside one transaction, so they hold across processes that share a
database. Outages raise ``StorageUnavailable``; the next call after the database is back works.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from valetkey.store.engine import SADatabase, make_engine, normalize_url
from valetkey.store.migrate import upgrade
from valetkey.store.sql_config import ConfigTables
from valetkey.store.sql_device import DeviceTables
from valetkey.store.sql_dpop import DPoPJtiTable
from valetkey.store.sql_par import ParTables
from valetkey.store.sql_sessions import SessionTables
from valetkey.store.sql_throttle import ThrottleTables
from valetkey.store.sql_tokens import TokenTables
from valetkey.store.sqlite_fast import RawDatabase
from valetkey.store.tx import Database

__all__ = ["SQLStore", "make_engine", "normalize_url", "open_store"]

STARTUP_LOCK_ID = 0x76616C6B73  # "valks": distinct from the migrations' lock


class SQLStore(
    SessionTables, TokenTables, DeviceTables, ConfigTables, DPoPJtiTable, ThrottleTables, ParTables
):
    """``db`` runs the queries built per call (SQLAlchemy); ``hot`` the statements of the request
    path (``statements``): the driver directly (an SQLite file, PostgreSQL), or the same
    SQLAlchemy database."""

    def __init__(self, engine: Engine, hot: Database | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.db = SADatabase(engine)
        self.hot: Database = hot or self.db

    def close(self) -> None:
        if self.hot is not self.db:
            self.hot.close()
        self.db.close()

    def schema_revision(self) -> str | None:
        """The migration the database is at (None: never migrated); an outage raises
        ``StorageUnavailable``. Readiness compares it with the code's head."""
        with self.db.connect() as conn:
            if not sa.inspect(conn).has_table("alembic_version"):
                return None
            value = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
            return None if value is None else str(value)

    @contextmanager
    def startup_lock(self) -> Iterator[None]:
        """Held while an instance migrates and applies its configuration, so that instances
        started together take turns (a PostgreSQL advisory lock, released if the holder dies).
        Processes on one SQLite file are forked by one parent that starts up alone."""
        if self.dialect != "postgresql":
            yield
            return
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": STARTUP_LOCK_ID})
            try:
                yield
            finally:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": STARTUP_LOCK_ID})


def open_store(url: str, *, migrate: bool = True) -> SQLStore:
    engine = make_engine(url)
    if migrate:
        upgrade(engine)
    path = engine.url.database
    if engine.dialect.name == "sqlite" and path and path != ":memory:" and not engine.url.query:
        raw = RawDatabase(path)
        raw.share(engine)
        return SQLStore(engine, raw)
    if engine.dialect.name == "postgresql":
        return SQLStore(engine, postgres_hot(engine))
    return SQLStore(engine)


def postgres_hot(engine: Engine) -> Database:
    """The hot statements on psycopg directly (``pg_fast``), to the engine's database."""
    from valetkey.store.pg_fast import PGDatabase

    url = engine.url.set(drivername="postgresql")
    return PGDatabase(url.render_as_string(hide_password=False))
