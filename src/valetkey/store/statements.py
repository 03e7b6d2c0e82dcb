"""The statements of the store's hot path, each defined once (SQLAlchemy Core) and run two ways.

SQLAlchemy executes ``construct`` (SQLite where the driver-level path is not used); the raw
``sqlite3`` path of ``sqlite_fast`` executes ``sqlite``, the same construct compiled once for
SQLite, and the psycopg path of ``pg_fast`` executes ``postgres``, compiled once for PostgreSQL.
All take the same parameter dict (an ``Insert`` also a tuple of the row's values) and give rows
whose columns are attributes. Values are always bound parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property
from itertools import count
from operator import itemgetter
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.sql.expression import Executable

from valetkey.store import schema as t

Args = Callable[[Mapping[str, Any]], tuple[Any, ...]]


class SQLiteForm(NamedTuple):
    text: str  # with ``?`` placeholders: sqlite3 binds a tuple faster than it looks names up
    args: Args  # the parameter dict as that tuple, in placeholder order


class PostgresForm(NamedTuple):
    name: bytes  # the prepared statement's name, the same on every connection
    text: bytes  # with ``$n`` placeholders
    args: Args  # the parameter dict as a tuple, in placeholder order


def _args(names: tuple[str, ...]) -> Args:
    if len(names) == 1:
        name = names[0]
        return lambda params: (params[name],)
    if not names:
        return lambda params: ()
    return itemgetter(*names)


_numbers = count(1)


class Statement:
    def __init__(self, construct: Executable) -> None:
        self.construct = construct

    @cached_property
    def sqlite(self) -> SQLiteForm:
        """The construct compiled for SQLite, on first use."""
        from sqlalchemy.dialects import sqlite

        compiled = self.construct.compile(dialect=sqlite.dialect())  # type: ignore[attr-defined]
        return SQLiteForm(str(compiled), _args(self._placeholders(compiled)))

    @cached_property
    def postgres(self) -> PostgresForm:
        """The construct compiled for PostgreSQL (``$n`` placeholders), on first use."""
        from sqlalchemy.dialects.postgresql import psycopg

        dialect = psycopg.dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
        compiled = self.construct.compile(dialect=dialect)  # type: ignore[attr-defined]
        name = f"valetkey_{next(_numbers)}".encode("ascii")
        return PostgresForm(
            name, str(compiled).encode("utf-8"), _args(self._placeholders(compiled))
        )

    def _placeholders(self, compiled: Any) -> tuple[str, ...]:
        """The parameters' names in placeholder order."""
        return tuple(compiled.positiontup or ())


class Insert(Statement):
    """An INSERT of one row of ``table``: every column but ``skip`` (columns set later: consumed,
    used, revoked). Its values come as a parameter dict, or as a tuple in ``columns`` order (the
    table's), which is the placeholders' order on every backend: the driver paths bind that tuple
    as it is (``Tx.insert``)."""

    def __init__(self, table: sa.Table, *skip: str) -> None:
        self.columns = tuple(c.name for c in table.c if c.name not in skip)
        super().__init__(sa.insert(table).values({c: sa.bindparam(c) for c in self.columns}))

    def _placeholders(self, compiled: Any) -> tuple[str, ...]:
        names = super()._placeholders(compiled)
        if names != self.columns:  # a row's tuple would land in the wrong columns
            raise RuntimeError(f"placeholders {names} are not in column order {self.columns}")
        return names


def _key(column: sa.Column[Any], name: str | None = None) -> sa.ColumnElement[bool]:
    return column == sa.bindparam(name or column.name)


# Reads by key: one row or none.
GET_CLIENT = Statement(sa.select(t.clients).where(_key(t.clients.c.client_id)))
GET_USER = Statement(sa.select(t.users).where(_key(t.users.c.sub)))
GET_USER_BY_NAME = Statement(sa.select(t.users).where(_key(t.users.c.username)))
GET_SESSION = Statement(
    sa.select(t.login_sessions).where(_key(t.login_sessions.c.session_digest, "digest"))
)
_consent_key = (_key(t.consents.c.sub), _key(t.consents.c.client_id))
GET_CONSENT = Statement(sa.select(t.consents.c.scope).where(*_consent_key))
# FOR UPDATE on PostgreSQL (two approvals at once merge in turn); SQLite's BEGIN IMMEDIATE already
# serializes writers, and its compiler leaves the clause out.
GET_CONSENT_FOR_UPDATE = Statement(
    sa.select(t.consents.c.scope).where(*_consent_key).with_for_update()
)
GET_SESSION_AND_CONSENT = Statement(
    sa.select(
        t.login_sessions.c.sub,
        t.login_sessions.c.auth_time,
        t.login_sessions.c.expires_at,
        t.consents.c.scope,
    )
    .select_from(
        t.login_sessions.outerjoin(
            t.consents,
            sa.and_(t.consents.c.sub == t.login_sessions.c.sub, _key(t.consents.c.client_id)),
        )
    )
    .where(_key(t.login_sessions.c.session_digest, "digest"))
)
GET_GRANT = Statement(sa.select(t.grants).where(_key(t.grants.c.grant_id)))
GET_ACCESS = Statement(sa.select(t.access_tokens).where(_key(t.access_tokens.c.jti)))
GET_REFRESH = Statement(
    sa.select(t.refresh_tokens).where(_key(t.refresh_tokens.c.token_digest, "digest"))
)
GET_CODE = Statement(
    sa.select(t.authorization_codes).where(_key(t.authorization_codes.c.code_digest, "digest"))
)

# RFC 6749 §4.1.2 / RFC 9700 §4.14.2: one conditional UPDATE consumes a code or a refresh token;
# of two transactions that race, in one process or two, exactly one gets the row back.
CONSUME_CODE = Statement(
    sa.update(t.authorization_codes)
    .where(
        _key(t.authorization_codes.c.code_digest, "digest"),
        t.authorization_codes.c.consumed_at.is_(None),
    )
    .values(consumed_at=sa.bindparam("now"))
    .returning(*t.authorization_codes.c)
)
USE_REFRESH = Statement(
    sa.update(t.refresh_tokens)
    .where(_key(t.refresh_tokens.c.token_digest, "digest"), t.refresh_tokens.c.used_at.is_(None))
    .values(used_at=sa.bindparam("now"))
    .returning(*t.refresh_tokens.c)
)

# New rows.
INSERT_GRANT = Insert(t.grants, "revoked_at", "revoked_reason")
INSERT_CODE = Insert(t.authorization_codes, "consumed_at")
INSERT_ACCESS = Insert(t.access_tokens, "revoked_at")
INSERT_REFRESH = Insert(t.refresh_tokens, "used_at", "revoked_at")
INSERT_SESSION = Insert(t.login_sessions)
DELETE_SESSION = Statement(
    sa.delete(t.login_sessions).where(_key(t.login_sessions.c.session_digest, "digest"))
)
# The same text on SQLite (3.35+) and PostgreSQL: a consent another transaction inserted first is
# left alone here (no row returned), then merged under its row lock.
INSERT_CONSENT_IF_NEW = Statement(
    sa.text(
        f"INSERT INTO {t.consents.name} (sub, client_id, scope, updated_at)"  # noqa: S608
        " VALUES (:sub, :client_id, :scope, :updated_at) ON CONFLICT DO NOTHING RETURNING sub"
    )
)
UPDATE_CONSENT = Statement(
    sa.update(t.consents)
    .where(_key(t.consents.c.sub, "user"), _key(t.consents.c.client_id, "client"))
    .values(scope=sa.bindparam("approved"), updated_at=sa.bindparam("now"))
)

# Revocation: a grant, then every token issued from it; or one access token. (An UPDATE's
# parameters are never named after a column: SQLAlchemy would take them for values to SET.)
REVOKE_GRANT = Statement(
    sa.update(t.grants)
    .where(_key(t.grants.c.grant_id, "grant"), t.grants.c.revoked_at.is_(None))
    .values(revoked_at=sa.bindparam("now"), revoked_reason=sa.bindparam("reason"))
)
REVOKE_GRANT_REFRESH = Statement(
    sa.update(t.refresh_tokens)
    .where(_key(t.refresh_tokens.c.grant_id, "grant"), t.refresh_tokens.c.revoked_at.is_(None))
    .values(revoked_at=sa.bindparam("now"))
)
REVOKE_GRANT_ACCESS = Statement(
    sa.update(t.access_tokens)
    .where(_key(t.access_tokens.c.grant_id, "grant"), t.access_tokens.c.revoked_at.is_(None))
    .values(revoked_at=sa.bindparam("now"))
)
REVOKE_ACCESS = Statement(
    sa.update(t.access_tokens)
    .where(_key(t.access_tokens.c.jti, "token"), t.access_tokens.c.revoked_at.is_(None))
    .values(revoked_at=sa.bindparam("now"))
)

# The Device Authorization Grant (RFC 8628). The page finds a code by its user code; the user's
# decision is one conditional UPDATE on a code still pending and unexpired (of two decisions at
# once, exactly one changes the row); a poll reads its row under a row lock (FOR UPDATE on
# PostgreSQL, BEGIN IMMEDIATE on SQLite), stores its pace, and consumes an approved code with one
# conditional UPDATE: of two instances polling at once, exactly one gets tokens.
INSERT_DEVICE_CODE = Insert(
    t.device_codes, "last_poll_at", "sub", "grant_id", "auth_time", "denied_at", "consumed_at"
)
GET_DEVICE_BY_USER_CODE = Statement(
    sa.select(t.device_codes).where(_key(t.device_codes.c.user_code_digest, "digest"))
)
GET_DEVICE_FOR_POLL = Statement(
    sa.select(t.device_codes)
    .where(_key(t.device_codes.c.device_code_digest, "digest"))
    .with_for_update()
)
_device_pending = (
    _key(t.device_codes.c.user_code_digest, "digest"),
    t.device_codes.c.sub.is_(None),
    t.device_codes.c.denied_at.is_(None),
    t.device_codes.c.consumed_at.is_(None),
    t.device_codes.c.expires_at > sa.bindparam("now"),
)
APPROVE_DEVICE_CODE = Statement(
    sa.update(t.device_codes)
    .where(*_device_pending)
    .values(
        sub=sa.bindparam("user"),
        grant_id=sa.bindparam("grant"),
        auth_time=sa.bindparam("authenticated"),
    )
    .returning(*t.device_codes.c)
)
DENY_DEVICE_CODE = Statement(
    sa.update(t.device_codes)
    .where(*_device_pending)
    .values(denied_at=sa.bindparam("now"))
    .returning(*t.device_codes.c)
)
RECORD_DEVICE_POLL = Statement(
    sa.update(t.device_codes)
    .where(_key(t.device_codes.c.device_code_digest, "digest"))
    .values(last_poll_at=sa.bindparam("polled"), poll_interval=sa.bindparam("pace"))
)
CONSUME_DEVICE_CODE = Statement(
    sa.update(t.device_codes)
    .where(
        _key(t.device_codes.c.device_code_digest, "digest"),
        t.device_codes.c.sub.is_not(None),
        t.device_codes.c.denied_at.is_(None),
        t.device_codes.c.consumed_at.is_(None),
    )
    .values(consumed_at=sa.bindparam("now"))
)
# RFC 9449 §11.1: one statement records a DPoP proof's replay key; a row comes back when the key
# was new or its old row had expired (then replaced), none when it is still remembered. Of two
# instances racing with one key, exactly one gets the row.
RECORD_DPOP_JTI = Statement(
    sa.text(
        f"INSERT INTO {t.dpop_jti.name} (key, expires_at) VALUES (:key, :expires_at)"  # noqa: S608
        f" ON CONFLICT (key) DO UPDATE SET expires_at = excluded.expires_at"
        f" WHERE {t.dpop_jti.name}.expires_at <= :now RETURNING key"
    )
)
PURGE_DPOP_JTI = Statement(
    sa.delete(t.dpop_jti).where(t.dpop_jti.c.expires_at <= sa.bindparam("now"))
)
# Guessing defences (core/throttle.py). A failure is counted by one INSERT ... ON CONFLICT, atomic
# across instances: a key whose failures are forgotten (``stale``: its window ended ``forget``
# seconds ago) starts again at one. The same text on SQLite (3.35+) and PostgreSQL.


def _throttle_of(key: str, column: sa.Column[Any]) -> sa.ScalarSelect[Any]:
    return sa.select(column).where(_key(t.throttle.c.key_digest, key)).scalar_subquery()


# Two keys in one read and always one row (NULLs for a key without failures).
GET_THROTTLE = Statement(
    sa.select(
        _throttle_of("a", t.throttle.c.failures).label("a_failures"),
        _throttle_of("a", t.throttle.c.blocked_until).label("a_until"),
        _throttle_of("b", t.throttle.c.failures).label("b_failures"),
        _throttle_of("b", t.throttle.c.blocked_until).label("b_until"),
    )
)
COUNT_THROTTLE_FAILURE = Statement(
    sa.text(
        f"INSERT INTO {t.throttle.name} (key_digest, failures, blocked_until, forget_at)"  # noqa: S608
        " VALUES (:key, 1, :now, :now) ON CONFLICT (key_digest) DO UPDATE SET failures ="
        f" CASE WHEN {t.throttle.name}.blocked_until <= :stale THEN 1"
        f" ELSE {t.throttle.name}.failures + 1 END RETURNING failures"
    )
)
# In the same transaction as the count: the window's end, and when the row may go.
SET_THROTTLE_WINDOW = Statement(
    sa.update(t.throttle)
    .where(_key(t.throttle.c.key_digest, "key"))
    .values(blocked_until=sa.bindparam("ends"), forget_at=sa.bindparam("forget_at"))
)
CLEAR_THROTTLE = Statement(sa.delete(t.throttle).where(_key(t.throttle.c.key_digest, "key")))
# At most ``limit`` forgotten rows, oldest first, found by ix_throttle_forget_at (migration 0012):
# a prune holds the write lock for a bounded time however many keys an attack left behind. Text:
# SQLAlchemy's SQLite LIMIT adds an OFFSET parameter of its own, which the raw path cannot bind.
PRUNE_THROTTLE = Statement(
    sa.text(
        f"DELETE FROM {t.throttle.name} WHERE key_digest IN"  # noqa: S608
        f" (SELECT key_digest FROM {t.throttle.name} WHERE forget_at <= :now"
        " ORDER BY forget_at LIMIT :limit)"
    )
)

# The inspector's event log (sql_events): appended in batches, followed by id, pruned by count/age.
_ev = t.events.c
APPEND_EVENT = Insert(t.events, "id")
EVENTS_AFTER = Statement(
    sa.select(_ev.id, _ev.body)
    .where(_ev.id > sa.bindparam("after"))
    .order_by(_ev.id)
    .limit(sa.bindparam("limit"))
)
EVENTS_BY_ID = Statement(
    sa.select(_ev.id, _ev.body)
    .where(_ev.id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(_ev.id)
)
NEWEST_EVENTS = Statement(
    sa.select(_ev.id, _ev.body).order_by(_ev.id.desc()).limit(sa.bindparam("limit"))
)
PRUNE_EVENTS = Statement(  # by the id, not OFFSET: O(1) whatever ``keep`` (ids rarely skip)
    sa.delete(t.events).where(
        sa.or_(
            _ev.time < sa.bindparam("before"),
            _ev.id <= sa.select(sa.func.max(_ev.id)).scalar_subquery() - sa.bindparam("keep"),
        )
    )
)
