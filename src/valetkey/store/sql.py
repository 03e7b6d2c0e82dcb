"""The SQL store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL.

Atomic steps are single conditional updates inside one transaction, so they hold across processes
that share a database: a code is consumed by ``UPDATE ... WHERE consumed_at IS NULL RETURNING``; a
refresh token is rotated the same way. SQLite write transactions start with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from valetkey.core.models import Client, LoginSession, Resource, SigningKey, User
from valetkey.store import schema as t
from valetkey.store.rows import client_from_row, client_metadata, join, split, user_from_row
from valetkey.store.sql_tokens import TokenTables


def normalize_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str) -> Engine:
    url = normalize_url(url)
    if url.startswith("sqlite"):
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
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


# Hot reads as statements built once with bound parameters: building a SELECT and its cache key
# on every call cost about as much CPU as running it.
_GET_CLIENT = sa.select(t.clients).where(t.clients.c.client_id == sa.bindparam("client_id"))
_GET_USER = sa.select(t.users).where(t.users.c.sub == sa.bindparam("sub"))
_GET_SESSION = sa.select(t.login_sessions).where(
    t.login_sessions.c.session_digest == sa.bindparam("digest")
)
_GET_CONSENT = sa.select(t.consents.c.scope).where(
    t.consents.c.sub == sa.bindparam("sub"), t.consents.c.client_id == sa.bindparam("client_id")
)
_GET_SESSION_AND_CONSENT = (
    sa.select(
        t.login_sessions.c.sub,
        t.login_sessions.c.auth_time,
        t.login_sessions.c.expires_at,
        t.consents.c.scope,
    )
    .select_from(
        t.login_sessions.outerjoin(
            t.consents,
            sa.and_(
                t.consents.c.sub == t.login_sessions.c.sub,
                t.consents.c.client_id == sa.bindparam("client_id"),
            ),
        )
    )
    .where(t.login_sessions.c.session_digest == sa.bindparam("digest"))
)


class SQLStore(TokenTables):
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    # -- plumbing ---------------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            conn.info["write"] = True
            try:
                with conn.begin():
                    yield conn
            finally:
                conn.info.pop("write", None)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def close(self) -> None:
        self.engine.dispose()

    # -- clients ------------------------------------------------------------------------------
    def get_client(self, client_id: str) -> Client | None:
        with self._read() as conn:
            row = conn.execute(_GET_CLIENT, {"client_id": client_id}).first()
        return client_from_row(row) if row else None

    def list_clients(self) -> list[Client]:
        with self._read() as conn:
            rows = conn.execute(sa.select(t.clients).order_by(t.clients.c.client_id)).all()
        return [client_from_row(r) for r in rows]

    def _client_values(self, client: Client, source: str, now: float) -> dict[str, Any]:
        return {
            "client_id": client.client_id,
            "client_name": client.client_name,
            "secret_digest": client.secret_digest,
            "metadata": client_metadata(client),
            "source": source,
            "updated_at": now,
        }

    def upsert_client(self, client: Client, *, source: str = "config") -> None:
        now = time.time()
        values = self._client_values(client, source, now)
        with self._write() as conn:
            updated = conn.execute(
                sa.update(t.clients)
                .where(t.clients.c.client_id == client.client_id)
                .values(**values)
            ).rowcount
            if not updated:
                conn.execute(sa.insert(t.clients).values(**values, created_at=now))

    def add_client(self, client: Client, *, source: str = "admin") -> bool:
        now = time.time()
        with self._write() as conn:
            exists = conn.execute(
                sa.select(t.clients.c.client_id).where(t.clients.c.client_id == client.client_id)
            ).first()
            if exists:
                return False
            conn.execute(
                sa.insert(t.clients).values(
                    **self._client_values(client, source, now), created_at=now
                )
            )
        return True

    def delete_client(self, client_id: str) -> bool:
        with self._write() as conn:
            return bool(
                conn.execute(
                    sa.delete(t.clients).where(t.clients.c.client_id == client_id)
                ).rowcount
            )

    # -- users --------------------------------------------------------------------------------
    def get_user(self, sub: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(_GET_USER, {"sub": sub}).first()
        return user_from_row(row) if row else None

    def get_user_by_username(self, username: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).first()
        return user_from_row(row) if row else None

    def list_users(self) -> list[User]:
        with self._read() as conn:
            return [
                user_from_row(r)
                for r in conn.execute(sa.select(t.users).order_by(t.users.c.username))
            ]

    def upsert_user(self, user: User) -> User:
        """Insert or update by username; an existing user keeps its ``sub`` (stable per user)."""
        with self._write() as conn:
            row = conn.execute(
                sa.select(t.users).where(t.users.c.username == user.username)
            ).first()
            values = {"password_hash": user.password_hash, "claims": dict(user.claims)}
            if row:
                conn.execute(sa.update(t.users).where(t.users.c.sub == row.sub).values(**values))
                return User(
                    sub=row.sub,
                    username=user.username,
                    password_hash=user.password_hash,
                    claims=user.claims,
                )
            conn.execute(
                sa.insert(t.users).values(
                    sub=user.sub, username=user.username, created_at=time.time(), **values
                )
            )
        return user

    def delete_user(self, username: str) -> bool:
        with self._write() as conn:
            return bool(
                conn.execute(sa.delete(t.users).where(t.users.c.username == username)).rowcount
            )

    # -- resources ----------------------------------------------------------------------------
    def list_resources(self) -> list[Resource]:
        with self._read() as conn:
            rows = conn.execute(sa.select(t.resources).order_by(t.resources.c.identifier)).all()
        return [Resource(r.identifier, split(r.scopes), r.name) for r in rows]

    def upsert_resource(self, resource: Resource) -> None:
        values = {"name": resource.name, "scopes": join(resource.scopes)}
        with self._write() as conn:
            n = conn.execute(
                sa.update(t.resources)
                .where(t.resources.c.identifier == resource.identifier)
                .values(**values)
            ).rowcount
            if not n:
                conn.execute(
                    sa.insert(t.resources).values(identifier=resource.identifier, **values)
                )

    # -- keys and secrets -----------------------------------------------------------------------
    def list_signing_keys(self) -> list[SigningKey]:
        with self._read() as conn:
            rows = conn.execute(
                sa.select(t.signing_keys).order_by(t.signing_keys.c.created_at)
            ).all()
        return [
            SigningKey(
                r.kid, r.alg, json.loads(r.private_jwk), r.created_at, bool(r.active), r.retired_at
            )
            for r in rows
        ]

    def add_signing_key(self, key: SigningKey, *, deactivate_others_of_alg: bool = False) -> None:
        with self._write() as conn:
            if deactivate_others_of_alg:
                conn.execute(
                    sa.update(t.signing_keys)
                    .where(t.signing_keys.c.alg == key.alg, t.signing_keys.c.active.is_(True))
                    .values(active=False, retired_at=key.created_at)
                )
            conn.execute(
                sa.insert(t.signing_keys).values(
                    kid=key.kid,
                    alg=key.alg,
                    private_jwk=json.dumps(dict(key.private_jwk)),
                    created_at=key.created_at,
                    active=key.active,
                    retired_at=key.retired_at,
                )
            )

    def remove_signing_key(self, kid: str) -> None:
        with self._write() as conn:
            conn.execute(sa.delete(t.signing_keys).where(t.signing_keys.c.kid == kid))

    def get_or_create_secret(self, name: str, factory: Callable[[], str]) -> str:
        with self._read() as conn:
            row = conn.execute(
                sa.select(t.server_secrets.c.value).where(t.server_secrets.c.name == name)
            ).first()
        if row:
            return str(row.value)
        try:
            with self._write() as conn:
                row = conn.execute(
                    sa.select(t.server_secrets.c.value).where(t.server_secrets.c.name == name)
                ).first()
                if row:
                    return str(row.value)
                value = factory()
                conn.execute(sa.insert(t.server_secrets).values(name=name, value=value))
                return value
        except sa.exc.IntegrityError:
            # Another instance created it first: use theirs.
            with self._read() as conn:
                row = conn.execute(
                    sa.select(t.server_secrets.c.value).where(t.server_secrets.c.name == name)
                ).one()
            return str(row.value)

    # -- sessions and consent ---------------------------------------------------------------------
    def create_session(self, session_digest: str, session: LoginSession) -> None:
        with self._write() as conn:
            conn.execute(
                sa.insert(t.login_sessions).values(
                    session_digest=session_digest,
                    sub=session.sub,
                    auth_time=session.auth_time,
                    expires_at=session.expires_at,
                )
            )

    def get_session(self, session_digest: str) -> LoginSession | None:
        with self._read() as conn:
            row = conn.execute(_GET_SESSION, {"digest": session_digest}).first()
        if not row:
            return None
        return LoginSession(session_digest, row.sub, row.auth_time, row.expires_at)

    def end_session(self, session_digest: str) -> None:
        with self._write() as conn:
            conn.execute(
                sa.delete(t.login_sessions).where(
                    t.login_sessions.c.session_digest == session_digest
                )
            )

    def get_session_and_consent(
        self, session_digest: str, client_id: str
    ) -> tuple[LoginSession | None, tuple[str, ...]]:
        with self._read() as conn:
            row = conn.execute(
                _GET_SESSION_AND_CONSENT, {"digest": session_digest, "client_id": client_id}
            ).first()
        if not row:
            return None, ()
        session = LoginSession(session_digest, row.sub, row.auth_time, row.expires_at)
        return session, split(row.scope) if row.scope else ()

    def get_consent(self, sub: str, client_id: str) -> tuple[str, ...]:
        with self._read() as conn:
            row = conn.execute(_GET_CONSENT, {"sub": sub, "client_id": client_id}).first()
        return split(row.scope) if row else ()

    def save_consent(self, sub: str, client_id: str, scope: tuple[str, ...], now: float) -> None:
        with self._write() as conn:
            row = conn.execute(_GET_CONSENT, {"sub": sub, "client_id": client_id}).first()
            merged = tuple(dict.fromkeys((*(split(row.scope) if row else ()), *scope)))
            if row:
                conn.execute(
                    sa.update(t.consents)
                    .where(t.consents.c.sub == sub, t.consents.c.client_id == client_id)
                    .values(scope=join(merged), updated_at=now)
                )
            else:
                conn.execute(
                    sa.insert(t.consents).values(
                        sub=sub, client_id=client_id, scope=join(merged), updated_at=now
                    )
                )


def open_store(url: str, *, migrate: bool = True) -> SQLStore:
    engine = make_engine(url)
    if migrate:
        from valetkey.store.migrate import upgrade

        upgrade(engine)
    path = engine.url.database
    if engine.dialect.name == "sqlite" and path and path != ":memory:" and not engine.url.query:
        from valetkey.store.sqlite_fast import FastSQLiteStore

        return FastSQLiteStore(engine, path)
    return SQLStore(engine)
