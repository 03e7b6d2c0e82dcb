"""The hottest statements of the SQL store on SQLite files, run on the driver directly.

``FastSQLiteStore`` is ``SQLStore`` (same tables, same migrations, same transactions) with the
statements of the request hot path (token issuance, introspection, the code flow) executed as
fixed SQL strings on one long-lived ``sqlite3`` connection per thread, past SQLAlchemy's pool,
transaction and compilation machinery (a third of W1's time, for a ~15 us round trip). Every
other method, and PostgreSQL, stays on SQLAlchemy. Write transactions start with
``BEGIN IMMEDIATE``, as on the SQLAlchemy path, so the atomic steps hold across processes.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import namedtuple
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

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
def _row_type(fields: tuple[str, ...]) -> Any:
    return namedtuple("Row", fields)


def _row(cursor: sqlite3.Cursor, values: tuple[Any, ...]) -> Any:
    return _row_type(tuple(d[0] for d in cursor.description))(*values)


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


class RawConnections:
    """Per thread, two sqlite3 connections opened on first use with the store's PRAGMAs: one for
    reads (SQLite's busy handler, 30 s) and one for write transactions (``begin_immediate``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _open(self, busy_ms: int) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=busy_ms / 1000, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = _row
        for pragma in ("synchronous=NORMAL", f"busy_timeout={busy_ms}", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
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
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()


class FastSQLiteStore(SQLStore):
    def __init__(self, engine: Engine, path: str) -> None:
        super().__init__(engine)
        self.raw = RawConnections(path)

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
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _one(self, sql: str, *params: Any) -> Any:
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
