"""Clients, users, resources, signing keys and server secrets: written at start-up and by the admin
commands, on SQLAlchemy. Every upsert is one ``INSERT ... ON CONFLICT`` statement, so instances
that apply the same configuration at once all succeed."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from valetkey.core.models import Client, Resource, SigningKey, User
from valetkey.store import schema as t
from valetkey.store.engine import SADatabase
from valetkey.store.rows import client_from_row, client_metadata, join, split, user_from_row
from valetkey.store.text import check_storable, storable

REGISTRATION_KEY = "registration_token_digest"  # in a registered client's metadata only


def upsert(
    dialect: str,
    table: sa.Table,
    values: Mapping[str, Any],
    update: Sequence[str],
    key: Sequence[str] = (),
) -> Any:
    """INSERT ``values``; on a conflict over ``key`` (default: the primary key), UPDATE the
    ``update`` columns, or with none leave the row as it is (any conflict). The same SQL on SQLite
    and PostgreSQL, each built by its dialect."""
    if dialect == "postgresql":
        from sqlalchemy.dialects import postgresql as dialect_dml
    else:
        from sqlalchemy.dialects import sqlite as dialect_dml  # type: ignore[no-redef]
    stmt = dialect_dml.insert(table).values(**values)
    if not update:
        return stmt.on_conflict_do_nothing()
    target = list(key) or [c.name for c in table.primary_key.columns]
    return stmt.on_conflict_do_update(
        index_elements=target, set_={c: stmt.excluded[c] for c in update}
    )


class ConfigTables:
    db: SADatabase
    dialect: str

    # -- clients ------------------------------------------------------------------------------
    def list_clients(self) -> list[Client]:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(t.clients).order_by(t.clients.c.client_id)).all()
        return [client_from_row(r) for r in rows]

    def _write_client(
        self, client: Client, source: str, *, replace: bool, extra: Mapping[str, Any] = {}
    ) -> bool:
        now = time.time()
        values: dict[str, Any] = {
            "client_id": client.client_id,
            "client_name": client.client_name,
            "secret_digest": client.secret_digest,
            "secret_sealed": client.secret_sealed,
            "source": source,
            "created_at": now,
            "updated_at": now,
        }
        check_storable(values)
        values["metadata"] = {**client_metadata(client), **extra}
        update = [k for k in values if k not in ("client_id", "created_at")] if replace else []
        stmt = upsert(self.dialect, t.clients, values, update).returning(t.clients.c.client_id)
        with self.db.connect(write=True) as conn:
            return conn.execute(stmt).first() is not None

    def upsert_client(self, client: Client, *, source: str = "config") -> None:
        self._write_client(client, source, replace=True)

    def add_client(self, client: Client, *, source: str = "admin") -> bool:
        """False, and nothing changed, when the client_id is taken."""
        return self._write_client(client, source, replace=False)

    # -- registered clients (RFC 7591, RFC 7592) -------------------------------------------------
    def register_client(self, client: Client, token_digest: str) -> bool:
        """A client registered over HTTP, with the digest of its registration access token;
        False when the client_id is taken."""
        extra = {REGISTRATION_KEY: token_digest}
        return self._write_client(client, "registered", replace=False, extra=extra)

    def get_registration(self, client_id: str) -> tuple[Client, str] | None:
        """A registered client and its registration access token digest (None for others)."""
        if not storable(client_id):
            return None
        query = sa.select(t.clients).where(
            t.clients.c.client_id == client_id, t.clients.c.source == "registered"
        )
        with self.db.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        metadata = row.metadata if isinstance(row.metadata, dict) else json.loads(row.metadata)
        return client_from_row(row), str(metadata.get(REGISTRATION_KEY, ""))

    def replace_registration(self, client: Client, token_digest: str) -> bool:
        """New metadata for a registered client (RFC 7592 section 2.2); False if it is gone."""
        values = {
            "client_name": client.client_name,
            "metadata": {**client_metadata(client), REGISTRATION_KEY: token_digest},
            "updated_at": time.time(),
        }
        query = (
            sa.update(t.clients)
            .where(t.clients.c.client_id == client.client_id, t.clients.c.source == "registered")
            .values(**values)
        )
        with self.db.connect(write=True) as conn:
            return bool(conn.execute(query).rowcount)

    def delete_client(self, client_id: str) -> bool:
        if not storable(client_id):
            return False
        with self.db.connect(write=True) as conn:
            query = sa.delete(t.clients).where(t.clients.c.client_id == client_id)
            return bool(conn.execute(query).rowcount)

    # -- users --------------------------------------------------------------------------------
    def list_users(self) -> list[User]:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(t.users).order_by(t.users.c.username)).all()
        return [user_from_row(r) for r in rows]

    def upsert_user(self, user: User) -> User:
        """Insert or update by username; an existing user keeps its ``sub`` (stable per user)."""
        values = {
            "sub": user.sub,
            "username": user.username,
            "password_hash": user.password_hash,
            "created_at": time.time(),
        }
        check_storable(values)
        stmt = upsert(
            self.dialect,
            t.users,
            {**values, "claims": dict(user.claims)},
            ("password_hash", "claims"),
            key=("username",),
        ).returning(t.users.c.sub)
        with self.db.connect(write=True) as conn:
            sub = conn.execute(stmt).scalar_one()
        return User(
            sub=sub, username=user.username, password_hash=user.password_hash, claims=user.claims
        )

    def update_password_hash(self, sub: str, old: str, new: str) -> bool:
        """Replace the user's password hash ``old`` by ``new`` (the same password, hashed with
        other parameters); False, and nothing changed, when the stored hash is no longer ``old``
        (the password was changed meanwhile) or the user is gone."""
        if not storable(sub) or not storable(old):
            return False
        check_storable({"password_hash": new})
        users = t.users.c
        query = (
            sa.update(t.users)
            .where(users.sub == sub, users.password_hash == old)
            .values(password_hash=new)
        )
        with self.db.connect(write=True) as conn:
            return bool(conn.execute(query).rowcount)

    def delete_user(self, username: str) -> bool:
        if not storable(username):
            return False
        with self.db.connect(write=True) as conn:
            query = sa.delete(t.users).where(t.users.c.username == username)
            return bool(conn.execute(query).rowcount)

    # -- resources ----------------------------------------------------------------------------
    def list_resources(self) -> list[Resource]:
        with self.db.connect() as conn:
            rows = conn.execute(sa.select(t.resources).order_by(t.resources.c.identifier)).all()
        return [Resource(r.identifier, split(r.scopes), r.name) for r in rows]

    def upsert_resource(self, resource: Resource) -> None:
        values = {
            "identifier": resource.identifier,
            "name": resource.name,
            "scopes": join(resource.scopes),
        }
        check_storable(values)
        with self.db.connect(write=True) as conn:
            conn.execute(upsert(self.dialect, t.resources, values, ("name", "scopes")))

    # -- keys and secrets -----------------------------------------------------------------------
    def list_signing_keys(self) -> list[SigningKey]:
        with self.db.connect() as conn:
            query = sa.select(t.signing_keys).order_by(t.signing_keys.c.created_at)
            rows = conn.execute(query).all()
        return [
            SigningKey(
                r.kid, r.alg, json.loads(r.private_jwk), r.created_at, bool(r.active), r.retired_at
            )
            for r in rows
        ]

    def add_signing_key(self, key: SigningKey, *, deactivate_others_of_alg: bool = False) -> None:
        values = {
            "kid": key.kid,
            "alg": key.alg,
            "private_jwk": json.dumps(dict(key.private_jwk)),
            "created_at": key.created_at,
            "active": key.active,
            "retired_at": key.retired_at,
        }
        check_storable(values)
        with self.db.connect(write=True) as conn:
            if deactivate_others_of_alg:
                conn.execute(
                    sa.update(t.signing_keys)
                    .where(t.signing_keys.c.alg == key.alg, t.signing_keys.c.active.is_(True))
                    .values(active=False, retired_at=key.created_at)
                )
            conn.execute(sa.insert(t.signing_keys).values(**values))

    def remove_signing_key(self, kid: str) -> None:
        if not storable(kid):
            return
        with self.db.connect(write=True) as conn:
            conn.execute(sa.delete(t.signing_keys).where(t.signing_keys.c.kid == kid))

    def get_or_create_secret(self, name: str, factory: Callable[[], str]) -> str:
        """The secret called ``name``; the first caller's ``factory()`` if none existed (of
        instances that start at once, every one gets the same value)."""
        query = sa.select(t.server_secrets.c.value).where(t.server_secrets.c.name == name)
        with self.db.connect() as conn:
            found = conn.execute(query).scalar()
        if found is not None:
            return str(found)
        values = {"name": name, "value": factory()}
        check_storable(values)
        with self.db.connect(write=True) as conn:
            conn.execute(upsert(self.dialect, t.server_secrets, values, ()))
            return str(conn.execute(query).scalar_one())
