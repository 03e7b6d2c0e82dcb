"""The hottest statements of the SQL store on SQLite files, run on the driver directly.

``FastSQLiteStore`` is ``SQLStore`` (same tables, same migrations, same transactions) with the
statements of the request hot path (token issuance, introspection, the code flow) executed as
fixed SQL strings on one long-lived ``sqlite3`` connection per thread, past SQLAlchemy's pool,
transaction and compilation machinery (a third of W1's time, for a ~15 us round trip). Every
other method, and PostgreSQL, stays on SQLAlchemy. Write transactions start with
``BEGIN IMMEDIATE``, as on the SQLAlchemy path, so the atomic steps hold across processes.

The write-ahead log is copied into the database file by a background thread (``Checkpointer``),
not by whichever commit crosses SQLite's threshold: that copy and its two ``fdatasync`` calls took
milliseconds on the event loop every thousand pages. With one checkpoint a second, a page that many
commits touch (an index's last leaf) is also copied once instead of once per thousand pages.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import namedtuple
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from valetkey.core.checks import Rejected
from valetkey.core.models import (
    AccessTokenRecord,
    Client,
    Grant,
    Issuance,
    LoginSession,
    NewCode,
    NewRows,
    RefreshToken,
    User,
)
from valetkey.store import schema as t
from valetkey.store.protocol import CodeDecision, RefreshDecision, T
from valetkey.store.rows import (
    access_from_row,
    access_values,
    client_from_row,
    code_from_row,
    code_values,
    grant_from_row,
    grant_values,
    join,
    refresh_from_row,
    refresh_values,
    split,
    user_from_row,
)
from valetkey.store.sql import SQLStore

log = logging.getLogger("valetkey.store")


# The SQL below is built once at import from this package's own table definitions (never from input);
# values are always bound parameters.
def _insert(table: Any) -> str:
    cols = [c.name for c in table.c if c.name not in ("revoked_at", "revoked_reason")]
    cols = [c for c in cols if c not in ("consumed_at", "used_at")]
    names, params = ", ".join(cols), ", ".join(":" + c for c in cols)
    return f"INSERT INTO {table.name} ({names}) VALUES ({params})"  # noqa: S608


def _select(table: Any, where: str) -> str:
    return f"SELECT {_cols(table)} FROM {table.name} WHERE {where}"  # noqa: S608


def _cols(table: Any) -> str:
    return ", ".join(c.name for c in table.c)


_INSERT_GRANT = _insert(t.grants)
_INSERT_CODE = _insert(t.authorization_codes)
_INSERT_ACCESS = _insert(t.access_tokens)
_INSERT_REFRESH = _insert(t.refresh_tokens)
_GET_CLIENT = _select(t.clients, "client_id = ?")
_GET_USER = _select(t.users, "sub = ?")
_GET_USER_BY_NAME = _select(t.users, "username = ?")
_INSERT_SESSION = (
    "INSERT INTO login_sessions (session_digest, sub, auth_time, expires_at) VALUES (?, ?, ?, ?)"
)
_UPDATE_CONSENT = "UPDATE consents SET scope = ?, updated_at = ? WHERE sub = ? AND client_id = ?"
_INSERT_CONSENT = "INSERT INTO consents (sub, client_id, scope, updated_at) VALUES (?, ?, ?, ?)"
_GET_SESSION = _select(t.login_sessions, "session_digest = ?")
_GET_CONSENT = "SELECT scope FROM consents WHERE sub = ? AND client_id = ?"
_GET_SESSION_AND_CONSENT = (
    "SELECT s.sub, s.auth_time, s.expires_at, c.scope FROM login_sessions AS s"
    " LEFT JOIN consents AS c ON c.sub = s.sub AND c.client_id = ? WHERE s.session_digest = ?"
)
_GET_GRANT = _select(t.grants, "grant_id = ?")
_GET_ACCESS = _select(t.access_tokens, "jti = ?")
_GET_REFRESH = _select(t.refresh_tokens, "token_digest = ?")
_GET_CODE = _select(t.authorization_codes, "code_digest = ?")
# RFC 6749 §4.1.2 / RFC 9700 §4.14.2: one conditional UPDATE consumes a code or a refresh token.
_CODE_COLS, _REFRESH_COLS = _cols(t.authorization_codes), _cols(t.refresh_tokens)
_CONSUME_CODE = f"UPDATE authorization_codes SET consumed_at = ? WHERE code_digest = ? AND consumed_at IS NULL RETURNING {_CODE_COLS}"  # noqa: S608
_USE_REFRESH = f"UPDATE refresh_tokens SET used_at = ? WHERE token_digest = ? AND used_at IS NULL RETURNING {_REFRESH_COLS}"  # noqa: S608


@lru_cache(maxsize=64)
def _row_type(description: tuple[tuple[Any, ...], ...]) -> Any:
    return namedtuple("Row", [d[0] for d in description])


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Any:
    return _row_type(cursor.description)(*values)


BUSY_WAIT_SECONDS = 30.0  # as long as the SQLAlchemy path's busy_timeout
_SQLITE_BUSY = 5


def begin_immediate(conn: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, retried after short sleeps while another process holds the write lock.

    SQLite's own busy handler sleeps 1 ms first, then 2, 5, 10 ms..., with this worker's event loop
    stopped all along, though a write transaction here lasts tens of microseconds: with two workers
    that stall, not the CPU, capped W1's throughput. The retries start at 50 us and double to 2 ms.
    """
    delay, deadline = 0.00005, time.monotonic() + BUSY_WAIT_SECONDS
    while True:
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != _SQLITE_BUSY or time.monotonic() > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.002)


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
            if self._thread is None and not self._stop.is_set():
                self._thread = threading.Thread(
                    target=self._run, name="valetkey-checkpoint", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
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
        conn = sqlite3.connect(
            self.path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = _row
        try:
            for pragma in ("synchronous=NORMAL", f"busy_timeout={busy_ms}", "foreign_keys=ON"):
                conn.execute(f"PRAGMA {pragma}")
            quiet_autocheckpoint(conn)
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
        conn: sqlite3.Connection | None = getattr(self._local, "writer", None)
        if conn is None:
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


class FastSQLiteStore(SQLStore):
    def __init__(self, engine: Engine, path: str) -> None:
        super().__init__(engine)
        self.raw = RawConnections(path)
        # This process's SQLAlchemy connections leave checkpoints to the checkpointer too.
        sa.event.listen(engine, "connect", lambda conn, _record: quiet_autocheckpoint(conn))
        engine.dispose()  # connections pooled before (migrations) reopen with it

    def close(self) -> None:
        self.raw.close()
        super().close()

    @contextmanager
    def _raw_write(self) -> Iterator[sqlite3.Connection]:
        conn = self.raw.writer()
        begin_immediate(conn)
        try:
            yield conn
            conn.execute("COMMIT")
            self.raw.checkpointer.wrote = True
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _one(self, sql: str, *params: Any) -> Any:
        """A read on the connection that writes: SQLite keeps a connection's page cache only while
        no other connection changes the database, so reads on a second connection of this very
        process re-read every page after each write. In WAL mode a read is refused (``BUSY``) only
        in rare moments, such as another process recovering the WAL; then the read waits on the
        reading connection, whose busy handler waits up to 30 s."""
        try:
            return self.raw.writer().execute(sql, params).fetchone()
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF != _SQLITE_BUSY:
                raise
        return self.raw.get().execute(sql, params).fetchone()

    # -- reads: one statement each (a statement is its own snapshot in autocommit mode) -----------
    def get_client(self, client_id: str) -> Client | None:
        row = self._one(_GET_CLIENT, client_id)
        return client_from_row(row) if row else None

    def get_user(self, sub: str) -> User | None:
        row = self._one(_GET_USER, sub)
        return user_from_row(row) if row else None

    def get_user_by_username(self, username: str) -> User | None:
        row = self._one(_GET_USER_BY_NAME, username)
        return user_from_row(row) if row else None

    def get_session(self, session_digest: str) -> LoginSession | None:
        row = self._one(_GET_SESSION, session_digest)
        return LoginSession(session_digest, row.sub, row.auth_time, row.expires_at) if row else None

    def get_session_and_consent(
        self, session_digest: str, client_id: str
    ) -> tuple[LoginSession | None, tuple[str, ...]]:
        row = self._one(_GET_SESSION_AND_CONSENT, client_id, session_digest)
        if row is None:
            return None, ()
        session = LoginSession(session_digest, row.sub, row.auth_time, row.expires_at)
        return session, split(row.scope) if row.scope else ()

    def get_consent(self, sub: str, client_id: str) -> tuple[str, ...]:
        row = self._one(_GET_CONSENT, sub, client_id)
        return split(row.scope) if row else ()

    def get_grant(self, grant_id: str) -> Grant | None:
        row = self._one(_GET_GRANT, grant_id)
        return grant_from_row(row) if row else None

    def get_access_token(self, jti: str) -> AccessTokenRecord | None:
        row = self._one(_GET_ACCESS, jti)
        return access_from_row(row) if row else None

    def get_refresh_token(self, token_digest: str) -> RefreshToken | None:
        row = self._one(_GET_REFRESH, token_digest)
        return refresh_from_row(row) if row else None

    # -- writes -------------------------------------------------------------------------------------
    def create_session(self, session_digest: str, session: LoginSession) -> None:
        with self._raw_write() as conn:
            conn.execute(
                _INSERT_SESSION, (session_digest, session.sub, session.auth_time, session.expires_at)
            )

    def save_consent(self, sub: str, client_id: str, scope: tuple[str, ...], now: float) -> None:
        with self._raw_write() as conn:
            row = conn.execute(_GET_CONSENT, (sub, client_id)).fetchone()
            merged = join(tuple(dict.fromkeys((*(split(row.scope) if row else ()), *scope))))
            if row:
                conn.execute(_UPDATE_CONSENT, (merged, now, sub, client_id))
            else:
                conn.execute(_INSERT_CONSENT, (sub, client_id, merged, now))

    def _insert_issuance_raw(self, conn: sqlite3.Connection, issuance: Issuance) -> None:
        if issuance.grant is not None:
            conn.execute(_INSERT_GRANT, grant_values(issuance.grant))
        if issuance.access is not None:
            conn.execute(_INSERT_ACCESS, access_values(issuance.access))
        if issuance.refresh is not None:
            conn.execute(_INSERT_REFRESH, refresh_values(issuance.refresh))

    def save_all(self, rows: Sequence[NewRows]) -> None:
        with self._raw_write() as conn:
            for row in rows:
                if isinstance(row, NewCode):
                    conn.execute(_INSERT_GRANT, grant_values(row.grant))
                    conn.execute(_INSERT_CODE, code_values(row.code))
                else:
                    self._insert_issuance_raw(conn, row)

    def redeem_code(self, code_digest: str, now: float, decide: CodeDecision[T]) -> T:
        revoke: str | None = None
        try:
            with self._raw_write() as conn:
                row = conn.execute(_CONSUME_CODE, (now, code_digest)).fetchone()
                replayed = False
                if row is None:
                    row = conn.execute(_GET_CODE, (code_digest,)).fetchone()
                    replayed = row is not None
                code = code_from_row(row) if row else None
                try:
                    issuance = decide(code, replayed)
                except Rejected:
                    if replayed and code is not None:
                        revoke = code.grant_id  # RFC 9700 §4.2.4: revoke every token from it
                    raise
                self._insert_issuance_raw(conn, issuance)
                return issuance
        finally:
            if revoke is not None:
                self.revoke_grant(revoke, now, "authorization code replayed")

    def rotate_refresh(self, token_digest: str, now: float, decide: RefreshDecision[T]) -> T:
        revoke: str | None = None
        try:
            with self._raw_write() as conn:
                row = conn.execute(_USE_REFRESH, (now, token_digest)).fetchone()
                reused = False
                if row is None:
                    row = conn.execute(_GET_REFRESH, (token_digest,)).fetchone()
                    reused = row is not None and row.used_at is not None
                token = refresh_from_row(row) if row else None
                grant = None
                if token is not None:
                    grow = conn.execute(_GET_GRANT, (token.grant_id,)).fetchone()
                    grant = grant_from_row(grow) if grow else None
                try:
                    issuance = decide(token, grant, reused)
                except Rejected:
                    if reused and token is not None:
                        revoke = token.grant_id  # RFC 9700 §4.14.2: reuse revokes the grant
                    raise
                self._insert_issuance_raw(conn, issuance)
                return issuance
        finally:
            if revoke is not None:
                self.revoke_grant(revoke, now, "refresh token reused")
