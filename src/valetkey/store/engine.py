"""SQLAlchemy engines (SQLite, PostgreSQL) and the store's transactions on them.

SQLite write transactions start with ``BEGIN IMMEDIATE``; PostgreSQL connections are checked
before use (``pool_pre_ping``), so after an outage the next request reconnects without a restart.
Connection-level failures become ``StorageUnavailable`` (``outage``) and drop the connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from valetkey.store.outage import outage
from valetkey.store.statements import Insert, Statement
from valetkey.store.text import check_storable, findable

CONNECT_TIMEOUT = 5  # seconds to reach PostgreSQL before the request is answered as an outage
POOL_TIMEOUT = 10  # seconds to wait for a pooled connection


def normalize_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    given = sa.engine.make_url(url).query
    connect_args = {} if "connect_timeout" in given else {"connect_timeout": CONNECT_TIMEOUT}
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=POOL_TIMEOUT,
        connect_args=connect_args,
    )


def _sqlite_engine(url: str) -> Engine:
    memory = url in ("sqlite://", "sqlite:///:memory:")
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        poolclass=StaticPool if memory else None,
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        if not memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Straight to the driver: the same statement without SQLAlchemy's execution machinery.
        sql = "BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN"
        conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]

    return engine


_ERRORS = (sa.exc.SQLAlchemyError, sqlite3.Error)


def raise_outage(exc: BaseException) -> None:
    """Raise StorageUnavailable if ``exc`` is an outage; return otherwise (the caller re-raises)."""
    down = outage(exc)
    if down is not None:
        raise down from exc


class SATx:
    __slots__ = ("conn",)

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        if not findable(params):
            return None
        return self.conn.execute(stmt.construct, params).first()

    def run(self, stmt: Statement, params: Mapping[str, Any]) -> int:
        check_storable(params)
        return int(self.conn.execute(stmt.construct, params).rowcount)

    def add(self, stmt: Statement, params: Mapping[str, Any]) -> None:
        self.run(stmt, params)

    def insert(self, stmt: Insert, row: tuple[Any, ...]) -> None:
        self.run(stmt, dict(zip(stmt.columns, row, strict=True)))


class SADatabase:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def connect(self, *, write: bool = False) -> Iterator[Connection]:
        """A connection in a transaction (``BEGIN IMMEDIATE`` on SQLite when ``write``)."""
        try:
            conn = self.engine.connect()
        except _ERRORS as exc:
            raise_outage(exc)
            raise
        try:
            conn.info["write"] = write
            with conn.begin():
                conn.info["write"] = False
                yield conn
        except _ERRORS as exc:
            if outage(exc) is not None and not conn.invalidated:
                conn.invalidate()  # a new connection next time, not this one back to the pool
            raise_outage(exc)
            raise
        finally:
            conn.close()

    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        if not findable(params):
            return None
        with self.connect() as conn:
            return conn.execute(stmt.construct, params).first()

    @contextmanager
    def write(self) -> Iterator[SATx]:
        with self.connect(write=True) as conn:
            yield SATx(conn)

    def close(self) -> None:
        self.engine.dispose()
