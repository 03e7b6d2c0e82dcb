"""The store's statements on PostgreSQL, run on libpq through psycopg's ``pq`` layer directly.

``PGDatabase`` runs the statements of ``statements`` (compiled once for PostgreSQL) as prepared
statements on connections kept in a small pool of its own, past SQLAlchemy's pool (its
``pool_pre_ping`` was a round trip before every call), transaction and compilation machinery, and
past psycopg's cursors, whose Python layers cost more than the round trip itself. Each statement
is prepared once per connection, then one ``PQexecPrepared`` call: values are sent as text, and the
columns read back by their type (text, float8, bool, integers, json). Reads run in autocommit mode:
one round trip each. Errors are psycopg's exception classes, so ``outage`` tells an outage from a
defect the same way as on the SQLAlchemy path.

A pooled connection that the server closed meanwhile (a restart, an administrator's
``pg_terminate_backend``) has something to read while idle: it is dropped on its way out of the
pool, and the call runs on a new connection. Connection-level failures raise
``StorageUnavailable`` and drop the connection.
"""

from __future__ import annotations

import json
import logging
import select
from collections import namedtuple
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import pq
from psycopg.errors import error_from_result

from valetkey.store.outage import postgres_outage
from valetkey.store.statements import PostgresForm, Statement
from valetkey.store.text import check_storable, findable

log = logging.getLogger("valetkey.store")

CONNECT_TIMEOUT = 5  # seconds, as on the SQLAlchemy path
MAX_IDLE = 8  # connections kept for reuse; one per thread that uses the store at once

_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)
_IDLE = pq.TransactionStatus.IDLE


def _text(value: bytes) -> Any:
    return value.decode("utf-8")


# Column type OIDs and how their text form is read: bool, int8, int2, int4, float4, float8, json,
# jsonb; everything else (text, varchar) is text.
_DECODERS: dict[int, Callable[[bytes], Any]] = {
    16: lambda v: v == b"t",
    20: int,
    21: int,
    23: int,
    700: float,
    701: float,
    114: json.loads,
    3802: json.loads,
}


def _param(value: Any) -> bytes | None:
    """A parameter's text form (the server takes its type from the prepared statement)."""
    kind = value.__class__
    if kind is str:
        return value.encode("utf-8")  # type: ignore[no-any-return]
    if value is None:
        return None
    if kind is bool:
        return b"t" if value else b"f"
    if kind is float:
        return repr(value).encode("ascii")  # exact: repr round-trips; inf and nan read back
    if kind is int:
        return str(value).encode("ascii")
    raise TypeError(f"no PostgreSQL text form for {kind.__name__}")


class Shape:
    """How one statement's rows are read: its columns' names and types, found on its first row."""

    __slots__ = ("decoders", "row_type")

    def __init__(self, result: pq.abc.PGresult) -> None:
        names = [(result.fname(i) or b"").decode() for i in range(result.nfields)]
        self.row_type: Any = namedtuple("Row", names)  # type: ignore[misc]
        self.decoders = [_DECODERS.get(result.ftype(i), _text) for i in range(result.nfields)]

    def first(self, result: pq.abc.PGresult) -> Any:
        get = result.get_value
        values = []
        for i, decode in enumerate(self.decoders):
            raw = get(0, i)
            values.append(None if raw is None else decode(raw))
        return self.row_type(*values)


_SHAPES: dict[bytes, Shape] = {}


def _first_row(form: PostgresForm, result: pq.abc.PGresult) -> Any:
    if not result.ntuples:
        return None
    shape = _SHAPES.get(form.name)
    if shape is None:
        shape = _SHAPES[form.name] = Shape(result)
    return shape.first(result)


class PGConn:
    """One connection: psycopg's, used through its libpq handle, and the names it has prepared."""

    __slots__ = ("conn", "pgconn", "prepared")

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.pgconn = conn.pgconn
        self.prepared: set[bytes] = set()

    def _check(self, result: pq.abc.PGresult | None) -> pq.abc.PGresult:
        if result is not None and result.status in _OK:
            return result
        if result is None or self.pgconn.status != pq.ConnStatus.OK:
            message = self.pgconn.get_error_message() or "the connection was lost"
            raise psycopg.OperationalError(message)
        raise error_from_result(result, encoding="utf-8")

    def command(self, sql: bytes) -> None:
        self._check(self.pgconn.exec_(sql))

    def execute(self, form: PostgresForm, params: Mapping[str, Any]) -> pq.abc.PGresult:
        name = form.name
        if name not in self.prepared:
            self._check(self.pgconn.prepare(name, form.text))
            self.prepared.add(name)
        values: Any = [_param(v) for v in form.args(params)]  # None: NULL (typed as bytes only)
        return self._check(self.pgconn.exec_prepared(name, values))

    @property
    def idle(self) -> bool:
        return bool(self.pgconn.transaction_status == _IDLE)

    def closed_meanwhile(self) -> bool:
        """An idle connection has nothing to read; one the server closed has its goodbye or EOF."""
        if self.pgconn.status != pq.ConnStatus.OK:
            return True
        try:
            poller = select.poll()
            poller.register(self.pgconn.socket, select.POLLIN)
            return bool(poller.poll(0))
        except (OSError, ValueError, psycopg.Error):
            return True

    def close(self) -> None:
        try:
            self.conn.close()
        except psycopg.Error as exc:
            log.debug("closing a broken PostgreSQL connection: %s", exc)


class PGConnections:
    """Connections in autocommit mode: taken from the idle ones (last in, first out) or opened,
    and given back after each call."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo
        self._idle: list[PGConn] = []

    def take(self) -> PGConn:
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                opened = psycopg.connect(
                    self.conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT
                )
                return PGConn(opened)
            if not conn.closed_meanwhile():
                return conn
            conn.close()

    def give_back(self, conn: PGConn) -> None:
        if conn.pgconn.status != pq.ConnStatus.OK or not conn.idle or len(self._idle) >= MAX_IDLE:
            conn.close()
        else:
            self._idle.append(conn)

    def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class PGTx:
    """One open write transaction."""

    __slots__ = ("conn",)

    def __init__(self, conn: PGConn) -> None:
        self.conn = conn

    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        if not findable(params):
            return None
        form = stmt.postgres
        return _first_row(form, self.conn.execute(form, params))

    def run(self, stmt: Statement, params: Mapping[str, Any]) -> int:
        check_storable(params)
        return self.conn.execute(stmt.postgres, params).command_tuples or 0

    def add(self, stmt: Statement, params: Mapping[str, Any]) -> None:
        self.run(stmt, params)


class PGDatabase:
    """The ``tx.Database`` of a PostgreSQL database: its statements on ``PGConnections``."""

    def __init__(self, conninfo: str) -> None:
        self.pool = PGConnections(conninfo)

    def close(self) -> None:
        self.pool.close()

    def _take(self) -> PGConn:
        try:
            return self.pool.take()
        except psycopg.Error as exc:
            _raise_outage(exc)
            raise

    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        if not findable(params):
            return None
        form = stmt.postgres
        conn = self._take()
        try:
            row = _first_row(form, conn.execute(form, params))
        except psycopg.Error as exc:
            conn.close()
            _raise_outage(exc)
            raise
        self.pool.give_back(conn)
        return row

    @contextmanager
    def write(self) -> Iterator[PGTx]:
        conn = self._take()
        try:
            conn.command(b"BEGIN")
            yield PGTx(conn)
            conn.command(b"COMMIT")
        except BaseException as exc:
            self._rollback(conn)
            if isinstance(exc, psycopg.Error):
                _raise_outage(exc)
            raise
        self.pool.give_back(conn)

    def _rollback(self, conn: PGConn) -> None:
        """Leave the connection outside any transaction, or drop it."""
        try:
            if conn.pgconn.status == pq.ConnStatus.OK and not conn.idle:
                conn.command(b"ROLLBACK")
        except psycopg.Error as exc:
            log.debug("rollback failed: %s", exc)
        self.pool.give_back(conn)  # closed instead unless healthy and idle


def _raise_outage(exc: psycopg.Error) -> None:
    down = postgres_outage(exc)
    if down is not None:
        raise down from exc
