"""The store's statements on PostgreSQL, run on the psycopg driver directly.

``PGDatabase`` runs the statements of ``statements`` (compiled once for PostgreSQL) on psycopg
connections kept in a small pool of its own, past SQLAlchemy's pool (its ``pool_pre_ping`` was a
round trip before every call), transaction and compilation machinery. Reads run in autocommit
mode: one round trip each. A write transaction runs in pipeline mode: ``BEGIN`` leaves with its
first statement, the rows a block only adds (``Tx.add``) and the ``COMMIT`` leave together, so
the group commit of one event-loop step is one round trip, and a code's redemption two (the
consuming UPDATE, whose row the decision needs, then the rest). Statements a connection runs
often are prepared by psycopg (``PREPARE_THRESHOLD``).

A pooled connection that the server closed meanwhile (a restart, an administrator's
``pg_terminate_backend``) has something to read while idle: it is dropped on its way out of the
pool, and the call runs on a new connection. Connection-level failures raise
``StorageUnavailable`` and drop the connection.
"""

from __future__ import annotations

import logging
import select
from collections import namedtuple
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg

from valetkey.store.outage import postgres_outage
from valetkey.store.statements import Statement
from valetkey.store.text import check_storable, findable

log = logging.getLogger("valetkey.store")

CONNECT_TIMEOUT = 5  # seconds, as on the SQLAlchemy path
PREPARE_THRESHOLD = 2  # executions of one statement on a connection before psycopg prepares it
MAX_IDLE = 8  # connections kept for reuse; one per thread that uses the store at once

_ROW_TYPES: dict[str, Any] = {}


def _first_row(cursor: psycopg.Cursor[Any], sql: str) -> Any:
    values = cursor.fetchone()
    if values is None:
        return None
    row_type = _ROW_TYPES.get(sql)
    if row_type is None:
        names = [c.name for c in cursor.description or ()]
        row_type = _ROW_TYPES[sql] = namedtuple("Row", names)
    return row_type(*values)


def _closed_meanwhile(conn: psycopg.Connection[Any]) -> bool:
    """An idle connection has nothing to read; one the server closed has its goodbye or EOF."""
    if conn.closed or conn.broken:
        return True
    try:
        poller = select.poll()
        poller.register(conn.fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError, psycopg.Error):
        return True


class PGConnections:
    """psycopg connections in autocommit mode: taken from the idle ones (last in, first out) or
    opened, and given back after each call."""

    def __init__(self, conninfo: str, connect_args: Mapping[str, Any]) -> None:
        self.conninfo = conninfo
        self.connect_args = {"connect_timeout": CONNECT_TIMEOUT, **connect_args}
        self._idle: list[psycopg.Connection[Any]] = []

    def _open(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.conninfo, autocommit=True, **self.connect_args)
        conn.prepare_threshold = PREPARE_THRESHOLD
        return conn

    def take(self) -> psycopg.Connection[Any]:
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                return self._open()
            if not _closed_meanwhile(conn):
                return conn
            self.discard(conn)

    def give_back(self, conn: psycopg.Connection[Any]) -> None:
        if conn.closed or conn.broken or len(self._idle) >= MAX_IDLE:
            self.discard(conn)
        else:
            self._idle.append(conn)

    @staticmethod
    def discard(conn: psycopg.Connection[Any]) -> None:
        try:
            conn.close()
        except psycopg.Error as exc:
            log.debug("closing a broken PostgreSQL connection: %s", exc)

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            self.discard(conn)


class PGTx:
    """One write transaction in pipeline mode."""

    __slots__ = ("conn", "pipeline")

    def __init__(self, conn: psycopg.Connection[Any], pipeline: psycopg.Pipeline) -> None:
        self.conn = conn
        self.pipeline = pipeline

    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        if not findable(params):
            return None
        sql, args = stmt.postgres
        return _first_row(self.conn.cursor().execute(sql, args(params)), sql)

    def run(self, stmt: Statement, params: Mapping[str, Any]) -> int:
        cursor = self._queue(stmt, params)
        self.pipeline.sync()  # the count is needed now
        return cursor.rowcount

    def add(self, stmt: Statement, params: Mapping[str, Any]) -> None:
        self._queue(stmt, params)

    def _queue(self, stmt: Statement, params: Mapping[str, Any]) -> psycopg.Cursor[Any]:
        check_storable(params)
        sql, args = stmt.postgres
        return self.conn.cursor().execute(sql, args(params))


class PGDatabase:
    """The ``tx.Database`` of a PostgreSQL database: its statements on ``PGConnections``."""

    def __init__(self, conninfo: str, connect_args: Mapping[str, Any] | None = None) -> None:
        self.pool = PGConnections(conninfo, connect_args or {})

    def close(self) -> None:
        self.pool.close()

    def _take(self) -> psycopg.Connection[Any]:
        try:
            return self.pool.take()
        except psycopg.Error as exc:
            _raise_outage(exc)
            raise

    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        if not findable(params):
            return None
        sql, args = stmt.postgres
        conn = self._take()
        try:
            row = _first_row(conn.execute(sql, args(params)), sql)
        except psycopg.Error as exc:
            self.pool.discard(conn)
            _raise_outage(exc)
            raise
        self.pool.give_back(conn)
        return row

    @contextmanager
    def write(self) -> Iterator[PGTx]:
        conn = self._take()
        try:
            with conn.pipeline() as pipeline:
                conn.execute("BEGIN")
                yield PGTx(conn, pipeline)
                conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback(conn)
            if isinstance(exc, psycopg.Error):
                _raise_outage(exc)
            raise
        self.pool.give_back(conn)

    def _rollback(self, conn: psycopg.Connection[Any]) -> None:
        """Leave the connection outside any transaction, or drop it."""
        try:
            if (
                not conn.broken
                and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE
            ):
                conn.execute("ROLLBACK")
        except psycopg.Error as exc:
            log.debug("rollback failed: %s", exc)
        if conn.broken or conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.pool.discard(conn)
        else:
            self.pool.give_back(conn)


def _raise_outage(exc: psycopg.Error) -> None:
    down = postgres_outage(exc)
    if down is not None:
        raise down from exc
