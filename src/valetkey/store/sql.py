"""The SQL store: SQLAlchemy 2 Core over SQLite (default) or PostgreSQL.

Atomic steps are single conditional updates inside one transaction, so they hold across processes
that share a database: a code is consumed by ``UPDATE ... WHERE consumed_at IS NULL RETURNING``; a
refresh token is rotated the same way. SQLite write transactions start with ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from valetkey.core.checks import Rejected
from valetkey.core.models import (
    AccessTokenRecord,
    AuthorizationCode,
    Client,
    Grant,
    Issuance,
    LoginSession,
    RefreshToken,
    Resource,
    SigningKey,
    User,
)
from valetkey.store import schema as t
from valetkey.store.protocol import CodeDecision, RefreshDecision, T


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
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _split(value: str) -> tuple[str, ...]:
    return tuple(value.split()) if value else ()


def _join(values: tuple[str, ...]) -> str:
    return " ".join(values)


def _client(row: Any) -> Client:
    m = row.metadata if isinstance(row.metadata, dict) else json.loads(row.metadata)
    return Client(
        client_id=row.client_id,
        client_name=row.client_name,
        secret_digest=row.secret_digest,
        redirect_uris=tuple(m.get("redirect_uris", ())),
        grant_types=tuple(m.get("grant_types", ())),
        response_types=tuple(m.get("response_types", ())),
        token_endpoint_auth_method=m.get("token_endpoint_auth_method", "client_secret_basic"),
        scope=tuple(m.get("scope", ())),
        require_pkce=bool(m.get("require_pkce", True)),
        pkce_methods=tuple(m.get("pkce_methods", ("S256",))),
        post_logout_redirect_uris=tuple(m.get("post_logout_redirect_uris", ())),
    )


def _client_metadata(c: Client) -> dict[str, Any]:
    return {
        "redirect_uris": list(c.redirect_uris),
        "grant_types": list(c.grant_types),
        "response_types": list(c.response_types),
        "token_endpoint_auth_method": c.token_endpoint_auth_method,
        "scope": list(c.scope),
        "require_pkce": c.require_pkce,
        "pkce_methods": list(c.pkce_methods),
        "post_logout_redirect_uris": list(c.post_logout_redirect_uris),
    }


def _user(row: Any) -> User:
    claims = row.claims if isinstance(row.claims, dict) else json.loads(row.claims)
    return User(sub=row.sub, username=row.username, password_hash=row.password_hash, claims=claims)


def _code(row: Any) -> AuthorizationCode:
    return AuthorizationCode(
        code_digest=row.code_digest,
        client_id=row.client_id,
        redirect_uri=row.redirect_uri,
        sub=row.sub,
        scope=_split(row.scope),
        audience=_split(row.audience),
        code_challenge=row.code_challenge,
        code_challenge_method=row.code_challenge_method,
        grant_id=row.grant_id,
        flow_id=row.flow_id,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        auth_time=row.auth_time,
        nonce=row.nonce,
        redirect_uri_given=bool(row.redirect_uri_given),
        consumed_at=row.consumed_at,
    )


def _grant(row: Any) -> Grant:
    return Grant(
        grant_id=row.grant_id,
        client_id=row.client_id,
        sub=row.sub,
        scope=_split(row.scope),
        audience=_split(row.audience),
        created_at=row.created_at,
        flow_id=row.flow_id,
        auth_time=row.auth_time,
        nonce=row.nonce,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
    )


def _refresh(row: Any) -> RefreshToken:
    return RefreshToken(
        token_digest=row.token_digest,
        grant_id=row.grant_id,
        client_id=row.client_id,
        scope=_split(row.scope),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
    )


def _access(row: Any) -> AccessTokenRecord:
    return AccessTokenRecord(
        jti=row.jti,
        grant_id=row.grant_id,
        client_id=row.client_id,
        sub=row.sub,
        scope=_split(row.scope),
        audience=_split(row.audience),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


class SQLStore:
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
            row = conn.execute(
                sa.select(t.clients).where(t.clients.c.client_id == client_id)
            ).first()
        return _client(row) if row else None

    def list_clients(self) -> list[Client]:
        with self._read() as conn:
            rows = conn.execute(sa.select(t.clients).order_by(t.clients.c.client_id)).all()
        return [_client(r) for r in rows]

    def _client_values(self, client: Client, source: str, now: float) -> dict[str, Any]:
        return {
            "client_id": client.client_id,
            "client_name": client.client_name,
            "secret_digest": client.secret_digest,
            "metadata": _client_metadata(client),
            "source": source,
            "updated_at": now,
        }

    def upsert_client(self, client: Client, *, source: str = "config") -> None:
        import time

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
        import time

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
            row = conn.execute(sa.select(t.users).where(t.users.c.sub == sub)).first()
        return _user(row) if row else None

    def get_user_by_username(self, username: str) -> User | None:
        with self._read() as conn:
            row = conn.execute(sa.select(t.users).where(t.users.c.username == username)).first()
        return _user(row) if row else None

    def list_users(self) -> list[User]:
        with self._read() as conn:
            return [_user(r) for r in conn.execute(sa.select(t.users).order_by(t.users.c.username))]

    def upsert_user(self, user: User) -> User:
        """Insert or update by username; an existing user keeps its ``sub`` (stable per user)."""
        import time

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
        return [Resource(r.identifier, _split(r.scopes), r.name) for r in rows]

    def upsert_resource(self, resource: Resource) -> None:
        values = {"name": resource.name, "scopes": _join(resource.scopes)}
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
            row = conn.execute(
                sa.select(t.login_sessions).where(
                    t.login_sessions.c.session_digest == session_digest
                )
            ).first()
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

    def get_consent(self, sub: str, client_id: str) -> tuple[str, ...]:
        with self._read() as conn:
            row = conn.execute(
                sa.select(t.consents.c.scope).where(
                    t.consents.c.sub == sub, t.consents.c.client_id == client_id
                )
            ).first()
        return _split(row.scope) if row else ()

    def save_consent(self, sub: str, client_id: str, scope: tuple[str, ...], now: float) -> None:
        with self._write() as conn:
            row = conn.execute(
                sa.select(t.consents.c.scope).where(
                    t.consents.c.sub == sub, t.consents.c.client_id == client_id
                )
            ).first()
            merged = tuple(dict.fromkeys((*(_split(row.scope) if row else ()), *scope)))
            if row:
                conn.execute(
                    sa.update(t.consents)
                    .where(t.consents.c.sub == sub, t.consents.c.client_id == client_id)
                    .values(scope=_join(merged), updated_at=now)
                )
            else:
                conn.execute(
                    sa.insert(t.consents).values(
                        sub=sub, client_id=client_id, scope=_join(merged), updated_at=now
                    )
                )

    # -- codes, grants, tokens ----------------------------------------------------------------------
    def create_code(self, code: AuthorizationCode, grant: Grant) -> None:
        with self._write() as conn:
            self._insert_grant(conn, grant)
            conn.execute(
                sa.insert(t.authorization_codes).values(
                    code_digest=code.code_digest,
                    grant_id=code.grant_id,
                    client_id=code.client_id,
                    redirect_uri=code.redirect_uri,
                    redirect_uri_given=code.redirect_uri_given,
                    sub=code.sub,
                    scope=_join(code.scope),
                    audience=_join(code.audience),
                    code_challenge=code.code_challenge,
                    code_challenge_method=code.code_challenge_method,
                    flow_id=code.flow_id,
                    issued_at=code.issued_at,
                    expires_at=code.expires_at,
                    auth_time=code.auth_time,
                    nonce=code.nonce,
                )
            )

    def _insert_grant(self, conn: Connection, grant: Grant) -> None:
        conn.execute(
            sa.insert(t.grants).values(
                grant_id=grant.grant_id,
                client_id=grant.client_id,
                sub=grant.sub,
                scope=_join(grant.scope),
                audience=_join(grant.audience),
                created_at=grant.created_at,
                flow_id=grant.flow_id,
                auth_time=grant.auth_time,
                nonce=grant.nonce,
            )
        )

    def _insert_issuance(self, conn: Connection, issuance: Issuance) -> None:
        if issuance.grant is not None:
            self._insert_grant(conn, issuance.grant)
        a = issuance.access
        if a is not None:
            conn.execute(
                sa.insert(t.access_tokens).values(
                    jti=a.jti,
                    grant_id=a.grant_id,
                    client_id=a.client_id,
                    sub=a.sub,
                    scope=_join(a.scope),
                    audience=_join(a.audience),
                    issued_at=a.issued_at,
                    expires_at=a.expires_at,
                )
            )
        r = issuance.refresh
        if r is not None:
            conn.execute(
                sa.insert(t.refresh_tokens).values(
                    token_digest=r.token_digest,
                    grant_id=r.grant_id,
                    client_id=r.client_id,
                    scope=_join(r.scope),
                    issued_at=r.issued_at,
                    expires_at=r.expires_at,
                )
            )

    def save_issuance(self, issuance: Issuance) -> None:
        with self._write() as conn:
            self._insert_issuance(conn, issuance)

    def redeem_code(self, code_digest: str, now: float, decide: CodeDecision[T]) -> T:
        c = t.authorization_codes.c
        revoke: tuple[str, str] | None = None
        try:
            with self._write() as conn:
                row = conn.execute(
                    sa.update(t.authorization_codes)
                    .where(c.code_digest == code_digest, c.consumed_at.is_(None))
                    .values(consumed_at=now)
                    .returning(*t.authorization_codes.c)
                ).first()
                replayed = False
                if row is None:
                    row = conn.execute(
                        sa.select(t.authorization_codes).where(c.code_digest == code_digest)
                    ).first()
                    replayed = row is not None
                code = _code(row) if row else None
                try:
                    issuance = decide(code, replayed)
                except Rejected:
                    if replayed and code is not None:
                        # RFC 9700 §4.2.4: a replayed code revokes every token issued from it.
                        revoke = (code.grant_id, "authorization code replayed")
                    raise
                self._insert_issuance(conn, issuance)
                return issuance
        finally:
            if revoke is not None:
                self.revoke_grant(revoke[0], now, revoke[1])

    def rotate_refresh(self, token_digest: str, now: float, decide: RefreshDecision[T]) -> T:
        c = t.refresh_tokens.c
        revoke: tuple[str, str] | None = None
        try:
            with self._write() as conn:
                row = conn.execute(
                    sa.update(t.refresh_tokens)
                    .where(c.token_digest == token_digest, c.used_at.is_(None))
                    .values(used_at=now)
                    .returning(*t.refresh_tokens.c)
                ).first()
                reused = False
                if row is None:
                    row = conn.execute(
                        sa.select(t.refresh_tokens).where(c.token_digest == token_digest)
                    ).first()
                    reused = row is not None and row.used_at is not None
                token = _refresh(row) if row else None
                grant = None
                if token is not None:
                    grow = conn.execute(
                        sa.select(t.grants).where(t.grants.c.grant_id == token.grant_id)
                    ).first()
                    grant = _grant(grow) if grow else None
                try:
                    issuance = decide(token, grant, reused)
                except Rejected:
                    if reused and token is not None:
                        # RFC 9700 §4.14.2: reuse of a rotated refresh token revokes the grant.
                        revoke = (token.grant_id, "refresh token reused")
                    raise
                self._insert_issuance(conn, issuance)
                return issuance
        finally:
            if revoke is not None:
                self.revoke_grant(revoke[0], now, revoke[1])

    def get_grant(self, grant_id: str) -> Grant | None:
        with self._read() as conn:
            row = conn.execute(sa.select(t.grants).where(t.grants.c.grant_id == grant_id)).first()
        return _grant(row) if row else None

    def list_grants(
        self, *, client_id: str | None = None, sub: str | None = None, active_only: bool = True
    ) -> list[Grant]:
        q = sa.select(t.grants).order_by(t.grants.c.created_at)
        if client_id is not None:
            q = q.where(t.grants.c.client_id == client_id)
        if sub is not None:
            q = q.where(t.grants.c.sub == sub)
        if active_only:
            q = q.where(t.grants.c.revoked_at.is_(None))
        with self._read() as conn:
            return [_grant(r) for r in conn.execute(q)]

    def revoke_grant(self, grant_id: str, now: float, reason: str) -> bool:
        with self._write() as conn:
            n = conn.execute(
                sa.update(t.grants)
                .where(t.grants.c.grant_id == grant_id, t.grants.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason)
            ).rowcount
            conn.execute(
                sa.update(t.refresh_tokens)
                .where(
                    t.refresh_tokens.c.grant_id == grant_id, t.refresh_tokens.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
            conn.execute(
                sa.update(t.access_tokens)
                .where(
                    t.access_tokens.c.grant_id == grant_id, t.access_tokens.c.revoked_at.is_(None)
                )
                .values(revoked_at=now)
            )
        return bool(n)

    def get_refresh_token(self, token_digest: str) -> RefreshToken | None:
        with self._read() as conn:
            row = conn.execute(
                sa.select(t.refresh_tokens).where(t.refresh_tokens.c.token_digest == token_digest)
            ).first()
        return _refresh(row) if row else None

    def get_access_token(self, jti: str) -> AccessTokenRecord | None:
        with self._read() as conn:
            row = conn.execute(
                sa.select(t.access_tokens).where(t.access_tokens.c.jti == jti)
            ).first()
        return _access(row) if row else None

    def revoke_access_token(self, jti: str, now: float) -> bool:
        with self._write() as conn:
            return bool(
                conn.execute(
                    sa.update(t.access_tokens)
                    .where(t.access_tokens.c.jti == jti, t.access_tokens.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                ).rowcount
            )

    def purge_expired(self, now: float) -> int:
        """Delete codes, tokens and sessions that expired more than a day ago."""
        horizon = now - 86400
        with self._write() as conn:
            n = conn.execute(
                sa.delete(t.authorization_codes).where(t.authorization_codes.c.expires_at < horizon)
            ).rowcount
            n += conn.execute(
                sa.delete(t.access_tokens).where(t.access_tokens.c.expires_at < horizon)
            ).rowcount
            n += conn.execute(
                sa.delete(t.login_sessions).where(t.login_sessions.c.expires_at < horizon)
            ).rowcount
        return int(n)


def open_store(url: str, *, migrate: bool = True) -> SQLStore:
    engine = make_engine(url)
    if migrate:
        from valetkey.store.migrate import upgrade

        upgrade(engine)
    return SQLStore(engine)
