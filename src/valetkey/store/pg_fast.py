"""The store's statements on PostgreSQL, run on libpq through psycopg's ``pq`` layer directly.

``PGDatabase`` runs the statements of ``statements`` (compiled once for PostgreSQL) as prepared
statements on connections kept in a small pool of its own, past SQLAlchemy's pool (its
``pool_pre_ping`` was a round trip before every call), transaction and compilation machinery, and
past psycopg's cursors, whose Python layers cost more than the round trip itself. Each statement
is prepared once per connection: values are sent as text, and the columns read back by their type
(text, float8, bool, integers, json). Reads run in autocommit mode: one round trip each. A write
transaction is sent in libpq's pipeline mode: ``BEGIN`` leaves with the first statement, the
statements whose result the block does not need (``Tx.add``: new rows) with the next one it does
need or with ``COMMIT``, so the group commit of one event-loop step is one round trip, and a code's
redemption two (the consuming UPDATE, whose row the decision needs, then the rest). Errors are psycopg's exception classes, so ``outage`` tells an outage from a
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
from collections.abc import Callable, Mapping
from functools import partial
from types import TracebackType
from typing import Any

import psycopg
import psycopg.conninfo
from psycopg import pq
from psycopg.errors import error_from_result

from valetkey.store.outage import postgres_outage
from valetkey.store.statements import Insert, PostgresForm, Statement
from valetkey.store.text import check_storable, check_storable_row, findable

log = logging.getLogger("valetkey.store")

CONNECT_TIMEOUT = 5  # seconds, as on the SQLAlchemy path (unless the URL gives its own)
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


def _params(values: tuple[Any, ...]) -> Any:
    """Values in placeholder order, as text (None: NULL); text, the most common, inline."""
    return [v.encode("utf-8") if v.__class__ is str else _param(v) for v in values]


class Shape:
    """How one statement's rows are read: its columns' names and types, found on its first row."""

    __slots__ = ("decoders", "make")

    def __init__(self, result: pq.abc.PGresult) -> None:
        names = [(result.fname(i) or b"").decode() for i in range(result.nfields)]
        row_type = namedtuple("Row", names)  # type: ignore[misc]
        # Filled in C by ``tuple.__new__``: the named tuple's own ``__new__`` is Python.
        self.make: Callable[[list[Any]], Any] = partial(tuple.__new__, row_type)
        self.decoders = [_DECODERS.get(result.ftype(i), _text) for i in range(result.nfields)]

    def first(self, result: pq.abc.PGresult) -> Any:
        get = result.get_value
        return self.make(
            [None if (v := get(0, i)) is None else f(v) for i, f in enumerate(self.decoders)]
        )


_SHAPES: dict[bytes, Shape] = {}


def _first_row(form: PostgresForm, result: pq.abc.PGresult) -> Any:
    if not result.ntuples:
        return None
    shape = _SHAPES.get(form.name)
    if shape is None:
        shape = _SHAPES[form.name] = Shape(result)
    return shape.first(result)


# One step of a pipeline: a command's text, a statement to prepare (name, text), or a prepared
# statement to run (name, values).
Queued = tuple[int, bytes, Any]
COMMAND, PREPARE, RUN = 0, 1, 2
BEGIN: Queued = (COMMAND, b"BEGIN", None)
COMMIT: Queued = (COMMAND, b"COMMIT", None)


class PGConn:
    """One connection: psycopg's, used through its libpq handle (in blocking mode), and the
    names it has prepared."""

    __slots__ = ("conn", "pgconn", "poller", "prepared")

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.pgconn = conn.pgconn
        self.pgconn.nonblocking = 0  # libpq waits for the server itself: no Python in between
        self.prepared: set[bytes] = set()
        self.poller = select.poll()  # its socket, for ``closed_meanwhile``
        self.poller.register(self.pgconn.socket, select.POLLIN)

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
        return self._check(self.pgconn.exec_prepared(name, _params(form.args(params))))

    def queue(self, steps: list[Queued], form: PostgresForm, values: tuple[Any, ...]) -> None:
        """Add ``form`` with ``values`` (in placeholder order) to ``steps`` (its preparation first,
        on first use)."""
        if form.name not in self.prepared and not any(
            step[0] == PREPARE and step[1] == form.name for step in steps
        ):
            steps.append((PREPARE, form.name, form.text))
        steps.append((RUN, form.name, _params(values)))

    def exchange(self, steps: list[Queued]) -> pq.abc.PGresult:
        """Send ``steps`` in one pipeline, one round trip; the last one's result. The first
        failure raises, once every result is read (those after it were skipped by the server)."""
        pgconn = self.pgconn
        results: list[pq.abc.PGresult | None] = []
        pgconn.enter_pipeline_mode()
        try:
            for kind, first, second in steps:
                if kind == RUN:
                    pgconn.send_query_prepared(first, second)
                elif kind == PREPARE:
                    pgconn.send_prepare(first, second)
                else:
                    pgconn.send_query_params(first, None)
            pgconn.pipeline_sync()
            for _ in steps:
                results.append(self._result())
                if results[-1] is None or self._result() is not None:
                    raise psycopg.OperationalError("the pipeline's results were cut short")
            if self._result() is None:  # the PIPELINE_SYNC result
                raise psycopg.OperationalError("the pipeline ended without its sync")
        finally:
            if pgconn.status == pq.ConnStatus.OK:
                pgconn.exit_pipeline_mode()
        for (kind, first, _), result in zip(steps, results, strict=True):
            self._check(result)
            if kind == PREPARE:
                self.prepared.add(first)
        return results[-1]  # type: ignore[return-value]

    def _result(self) -> pq.abc.PGresult | None:
        """The next result, waited for with the GIL released: psycopg's binary ``get_result``
        holds it while libpq blocks, so a thread waiting here for a row another thread of this
        process has locked would stop that thread from ever committing."""
        pgconn = self.pgconn
        while pgconn.is_busy():
            self.poller.poll()  # the socket is readable (or closed): releases the GIL meanwhile
            pgconn.consume_input()
        return pgconn.get_result()

    @property
    def idle(self) -> bool:
        return bool(self.pgconn.transaction_status == _IDLE)

    def closed_meanwhile(self) -> bool:
        """An idle connection has nothing to read; one the server closed has its goodbye or EOF."""
        if self.pgconn.status != pq.ConnStatus.OK:
            return True
        try:
            return bool(self.poller.poll(0))
        except OSError:
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
        given = psycopg.conninfo.conninfo_to_dict(conninfo)
        self.options: dict[str, Any] = (
            {} if "connect_timeout" in given else {"connect_timeout": CONNECT_TIMEOUT}
        )
        self._idle: list[PGConn] = []

    def take(self) -> PGConn:
        while True:
            try:
                conn = self._idle.pop()
            except IndexError:
                return PGConn(psycopg.connect(self.conninfo, autocommit=True, **self.options))
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
    """One write transaction on a pooled connection, as its own context manager: committed when
    the block ends, rolled back if it raises. Statements whose result the block does not need
    (``add``) wait, and leave with the next one that it does need, or with the commit; ``BEGIN``
    leaves with the first statement."""

    __slots__ = ("conn", "db", "steps")
    conn: PGConn

    def __init__(self, db: PGDatabase) -> None:
        self.db = db
        self.steps: list[Queued] = [BEGIN]

    def __enter__(self) -> PGTx:
        self.conn = self.db._take()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            try:
                self.commit()
            except BaseException as failed:
                self._failed(failed)
                raise
            self.db.pool.give_back(self.conn)
        else:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        """Roll back; an outage raises ``StorageUnavailable`` (from ``exc``)."""
        self.db._rollback(self.conn)
        if isinstance(exc, psycopg.Error):
            _raise_outage(exc)

    def _now(self, stmt: Statement, params: Mapping[str, Any]) -> pq.abc.PGresult:
        form = stmt.postgres
        self.conn.queue(self.steps, form, form.args(params))
        steps, self.steps = self.steps, []
        return self.conn.exchange(steps)

    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        if not findable(params):
            return None
        return _first_row(stmt.postgres, self._now(stmt, params))

    def run(self, stmt: Statement, params: Mapping[str, Any]) -> int:
        check_storable(params)
        return self._now(stmt, params).command_tuples or 0

    def add(self, stmt: Statement, params: Mapping[str, Any]) -> None:
        check_storable(params)
        form = stmt.postgres
        self.conn.queue(self.steps, form, form.args(params))

    def insert(self, stmt: Insert, row: tuple[Any, ...]) -> None:
        check_storable_row(stmt.columns, row)
        self.conn.queue(self.steps, stmt.postgres, row)

    def commit(self) -> None:
        steps, self.steps = self.steps, []
        if steps != [BEGIN]:  # nothing was sent: nothing to commit
            self.conn.exchange([*steps, COMMIT])


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

    def write(self) -> PGTx:
        return PGTx(self)

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
