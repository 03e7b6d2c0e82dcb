"""The store's statements on SQLite files, run on the sqlite3 driver directly.

``RawDatabase`` runs the statements of ``statements`` (compiled once for SQLite) on one long-lived
``sqlite3`` connection per thread, past SQLAlchemy's pool, transaction and compilation machinery
(a third of W1's time, for a ~15 us round trip). The store's methods are the same on every
backend; only what runs their statements differs. Write transactions start with ``BEGIN
IMMEDIATE``, as on the SQLAlchemy path, so the atomic steps hold across processes.

The write-ahead log is copied into the database file by a background thread (``Checkpointer``),
not by whichever commit crosses SQLite's threshold: that copy and its two ``fdatasync`` calls took
milliseconds on the event loop every thousand pages. With one checkpoint a second, a page that many
commits touch (an index's last leaf) is also copied once instead of once per thousand pages.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections import namedtuple
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import PurePath
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from valetkey.store.outage import sqlite_outage
from valetkey.store.statements import Insert, Statement
from valetkey.store.text import check_storable, check_storable_row, plain

log = logging.getLogger("valetkey.store")


# Per statement text, how its rows are made: a named tuple type (columns as attributes, as
# SQLAlchemy's rows have them) built from the first row's cursor, then called by the text's cached
# hash. ``tuple.__new__`` fills it in C: the type's own ``__new__`` is a Python function.
_ROW_MAKERS: dict[str, Callable[[tuple[Any, ...]], Any]] = {}


def _row_maker(cursor: sqlite3.Cursor, sql: str) -> Callable[[tuple[Any, ...]], Any]:
    row_type = namedtuple("Row", [d[0] for d in cursor.description])  # type: ignore[misc]
    make = _ROW_MAKERS[sql] = partial(tuple.__new__, row_type)
    return make


# sqlite3 binds str, int, float and bytearray as they are; any other value (None: NULL; bool, an
# int) first goes through its adaptation protocol: an adapter looked up, then ``__adapt__`` and
# ``__conform__`` looked for in vain, thousands of instructions per value; most new rows have NULLs.
# Registered adapters, both C calls giving what the protocol would have bound, make that one lookup.
# (sqlite3's registry is the process's: the SQLAlchemy path binds the same values the same way.)
_NULLS: dict[None, None] = {}
sqlite3.register_adapter(type(None), _NULLS.get)  # None for None: NULL
sqlite3.register_adapter(bool, int)  # 0 or 1, as sqlite3 binds an int subclass


def connect_existing(path: str, timeout: float) -> sqlite3.Connection:
    """A connection in autocommit mode to the database file at ``path``, which must exist
    (mode=rw): a file that went away is an outage ("unable to open"), never silently replaced by a
    new, empty database."""
    uri = PurePath(os.path.abspath(path)).as_uri() + "?mode=rw"
    return sqlite3.connect(
        uri, timeout=timeout, isolation_level=None, check_same_thread=False, uri=True
    )


BUSY_WAIT_SECONDS = 30.0  # as long as the SQLAlchemy path's busy_timeout
_SQLITE_BUSY = 5


def begin_immediate(conn: sqlite3.Connection | sqlite3.Cursor) -> None:
    """BEGIN IMMEDIATE, retried after short sleeps while another process holds the write lock.

    SQLite's own busy handler sleeps 1 ms first, then 2, 5, 10 ms..., with this worker's event loop
    stopped all along, though a write transaction here lasts tens of microseconds: with two workers
    that stall, not the CPU, capped W1's throughput. The retries start at 50 us and double to 2 ms.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF != _SQLITE_BUSY:
            raise
        _wait_and_begin(conn)


def _wait_and_begin(conn: sqlite3.Connection | sqlite3.Cursor) -> None:
    delay, deadline = 0.00005, time.monotonic() + BUSY_WAIT_SECONDS
    while True:
        time.sleep(delay)
        delay = min(delay * 2, 0.002)
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != _SQLITE_BUSY or time.monotonic() > deadline:
                raise


# A commit still checkpoints by itself past this many WAL pages (64 MiB): a bound, should the
# checkpointer fall behind. SQLite's default is 1000.
WAL_PAGES_BOUND = 16_000
CHECKPOINT_INTERVAL = 1.0  # seconds between background checkpoints while there are writes
CATCH_UP_ROUNDS = 8


def quiet_autocheckpoint(conn: Any) -> None:
    """Leave checkpoints to the ``Checkpointer`` (up to ``WAL_PAGES_BOUND`` pages)."""
    conn.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES_BOUND}")


class Checkpointer:
    """A daemon thread that copies the WAL into the database file about once a second while this
    process writes (``PRAGMA wal_checkpoint(PASSIVE)``: it never blocks readers or writers; pages
    a reader still needs stay for the next round). Started by the first write, stopped on close."""

    def __init__(self, path: str, interval: float = CHECKPOINT_INTERVAL) -> None:
        self.path = path
        self.interval = interval
        self.wrote = False  # set by each commit, cleared by the thread: a plain flag, no lock
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        with self._lock:
            running = self._thread is not None and self._thread.is_alive()
            if not running and not self._stop.is_set():  # not yet, or it could not open the file
                self._thread = threading.Thread(
                    target=self._run, name="valetkey-checkpoint", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        try:
            conn = connect_existing(self.path, 5.0)
        except sqlite3.Error as exc:  # the file went away: nothing to checkpoint
            log.debug("no background checkpoints: %s", exc)
            return
        try:
            while not self._stop.wait(self.interval):
                if self.wrote:
                    self.checkpoint(conn)
        finally:
            conn.close()

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        """Copy the WAL, then whatever commits added meanwhile, until all of it is in the file:
        only then does the next writer start the WAL over from its beginning (and overwrite it,
        cheaper than growing it). Under steady load each further round has only a few pages."""
        self.wrote = False
        try:
            before = -1
            for _ in range(CATCH_UP_ROUNDS):
                busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.checkpoints += 1
                if busy or copied < frames:  # another checkpoint, or a reader holds pages back
                    self.wrote = True  # so the next round tries again
                    break
                if frames <= before:  # no commit since the last round (or the WAL started over)
                    break
                before = frames
        except sqlite3.Error as exc:  # e.g. another process's checkpoint: the next round retries
            self.wrote = True
            log.debug("background checkpoint skipped: %s", exc)

    def stop(self) -> None:
        with self._lock:
            self._stop.set()
            thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()


class RawConnections:
    """Per thread, two sqlite3 connections opened on first use with the store's PRAGMAs: one for
    write transactions (``begin_immediate``) and reads, and one with SQLite's busy handler (30 s)
    for a read the first was refused; and the process's ``Checkpointer``, started with the first
    writer."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self.checkpointer = Checkpointer(path)

    def _open(self, busy_ms: int) -> sqlite3.Connection:
        """A connection with the store's PRAGMAs, then ``busy_ms`` as its busy timeout. The PRAGMAs
        run with SQLite's busy handler whatever ``busy_ms`` is: ``synchronous`` reads the schema,
        which another connection's lock (a WAL recovery after the last connection closed, say)
        can refuse for a moment, and a writer's first use is no outage."""
        conn = connect_existing(self.path, BUSY_WAIT_SECONDS)
        try:
            for pragma in ("synchronous=NORMAL", "foreign_keys=ON"):
                conn.execute(f"PRAGMA {pragma}")
            quiet_autocheckpoint(conn)
            conn.execute(f"PRAGMA busy_timeout={busy_ms}")
        except BaseException:
            conn.close()
            raise
        with self._lock:
            self._all.append(conn)
        return conn

    def get(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open(int(BUSY_WAIT_SECONDS * 1000))
        return conn

    def writer(self) -> sqlite3.Connection:
        try:
            return self._local.writer  # type: ignore[no-any-return]
        except AttributeError:  # this thread's first write, or after ``discard_thread``
            conn = self._local.writer = self._open(0)
            self.checkpointer.start()
            return conn

    def close(self) -> None:
        self.checkpointer.stop()
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
        self.checkpointer = Checkpointer(self.path, self.checkpointer.interval)

    def discard_thread(self) -> None:
        """Close this thread's connections; the next use opens new ones."""
        for name in ("writer", "conn"):
            conn: sqlite3.Connection | None = self._local.__dict__.pop(name, None)
            if conn is None:
                continue
            with self._lock:
                if conn in self._all:
                    self._all.remove(conn)
            try:
                conn.close()
            except sqlite3.Error as exc:
                log.debug("closing a broken SQLite connection: %s", exc)


class RawTx:
    """One write transaction on this thread's writing connection (``BEGIN IMMEDIATE``), as its
    own context manager: committed when the block ends, rolled back if it raises. Its statements
    run on one cursor (``Connection.execute`` makes a new one per statement); each of them resets
    the one before, and the cursor goes with the transaction."""

    __slots__ = ("cursor", "db")
    cursor: sqlite3.Cursor

    def __init__(self, db: RawDatabase) -> None:
        self.db = db

    def __enter__(self) -> RawTx:
        try:
            cursor = self.cursor = self.db.raw.writer().cursor()
            begin_immediate(cursor)
        except sqlite3.Error as exc:
            self.db._outage(exc)
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is None:
            try:
                self.cursor.execute("COMMIT")
            except BaseException as failed:
                self._failed(failed)
                raise
            self.db.raw.checkpointer.wrote = True
        else:
            self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        """Roll back; an outage raises ``StorageUnavailable`` (from ``exc``)."""
        self.db._rollback(self.cursor.connection)
        if isinstance(exc, sqlite3.Error):
            self.db._outage(exc)

    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        # No row holds NUL (writes refuse it), so SQLite matches nothing for such a key by itself;
        # text that is not UTF-8 (unpaired surrogates) cannot even be bound.
        sql, args = stmt.sqlite
        cursor = self.cursor
        try:
            cursor.execute(sql, args(params))
        except UnicodeEncodeError:
            return None
        values = cursor.fetchone()
        if values is None:
            return None
        return (_ROW_MAKERS.get(sql) or _row_maker(cursor, sql))(values)

    def run(self, stmt: Statement, params: Mapping[str, Any]) -> int:
        sql, args = stmt.sqlite
        values = args(params)
        if not plain(values):
            check_storable(params)
        return self.cursor.execute(sql, values).rowcount

    def add(self, stmt: Statement, params: Mapping[str, Any]) -> None:
        self.run(stmt, params)

    def insert(self, stmt: Insert, row: tuple[Any, ...]) -> None:
        check_storable_row(stmt.columns, row)
        self.cursor.execute(stmt.sqlite.text, row)


class RawDatabase:
    """The ``tx.Database`` of an SQLite file: its statements on ``RawConnections``."""

    def __init__(self, path: str) -> None:
        self.raw = RawConnections(path)

    def share(self, engine: Engine) -> None:
        """The SQLAlchemy connections of this process leave checkpoints to the checkpointer too."""
        sa.event.listen(engine, "connect", lambda conn, _record: quiet_autocheckpoint(conn))
        engine.dispose()  # connections pooled before (migrations) reopen with it

    def close(self) -> None:
        self.raw.close()

    def write(self) -> RawTx:
        return RawTx(self)

    def _rollback(self, conn: sqlite3.Connection) -> None:
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:  # a broken connection: SQLite rolls back on its own
            log.debug("rollback failed: %s", exc)
            self.raw.discard_thread()

    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        """A read on the connection that writes: SQLite keeps a connection's page cache only while
        no other connection changes the database, so reads on a second connection of this very
        process re-read every page after each write. In WAL mode a read is refused (``BUSY``) only
        in rare moments, such as another process recovering the WAL; then the read waits on the
        reading connection, whose busy handler waits up to 30 s. A key no row can hold finds
        nothing (see ``RawTx.one``)."""
        sql, args = stmt.sqlite
        try:
            try:
                cursor = self.raw.writer().execute(sql, args(params))
                values = cursor.fetchone()
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode & 0xFF != _SQLITE_BUSY:
                    raise
                cursor = self.raw.get().execute(sql, args(params))
                values = cursor.fetchone()
        except UnicodeEncodeError:
            return None
        except sqlite3.Error as exc:
            self._outage(exc)
            raise
        if values is None:
            return None
        return (_ROW_MAKERS.get(sql) or _row_maker(cursor, sql))(values)

    def _outage(self, exc: sqlite3.Error) -> None:
        """Raise StorageUnavailable for an outage, after dropping this thread's connections: the
        next call opens new ones (a file that came back, a connection that broke)."""
        down = sqlite_outage(exc)
        if down is not None:
            self.raw.discard_thread()
            raise down from exc
