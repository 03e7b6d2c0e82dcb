"""Start-up: open the store, apply migrations, upsert the configured clients, users and resources.

Every upsert is a single statement that tolerates another instance doing the same at once."""

from __future__ import annotations

import hmac
import uuid

from valetkey.core import jose
from valetkey.core.clock import Clock, SystemClock
from valetkey.core.events import EventSink, NullSink
from valetkey.core.models import CLIENT_SECRET_JWT, Client, Resource, User
from valetkey.core.settings import ClientConfig, Settings, UserConfig
from valetkey.server.passwords import (
    Passwords,
    SealingKeyMissing,
    default_passwords,
    passwords_for,
    stored_secret,
)
from valetkey.server.state import ServerState
from valetkey.store.protocol import Store
from valetkey.store.sql import normalize_url, open_store


class DatabaseOpenError(Exception):
    """The database cannot be opened; the message is one line that names it (never a password)
    and says what to do."""


def _sqlite_path(url: str) -> str | None:
    """The file of an SQLite URL, or None (another database, in memory, a URI filename)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(normalize_url(url))
    if parsed.get_backend_name() != "sqlite" or parsed.query:
        return None
    return parsed.database if parsed.database not in (None, "", ":memory:") else None


def _sqlite_problem(path: str) -> str | None:
    """What stops SQLite from creating ``path`` and its -wal file, said before it fails to."""
    import os

    directory = os.path.dirname(os.path.abspath(path))
    fix = "or set database or data_dir to another directory"
    if not os.path.isdir(directory):
        return f"the directory {directory} does not exist (create it, {fix})"
    if not os.access(directory, os.W_OK | os.X_OK):
        return f"the directory {directory} is not writable (fix its permissions, {fix})"
    return None


def _describe(url: str, exc: Exception) -> str:
    """One line for a database that failed to open: the driver's first line, no password."""
    from sqlalchemy.engine import make_url

    parsed = make_url(normalize_url(url))
    detail = str(getattr(exc, "orig", None) or exc).splitlines()[0].strip()
    if parsed.password:
        detail = detail.replace(str(parsed.password), "***")
    path = _sqlite_path(url)
    if path is not None:
        return f"cannot open the SQLite database {path}: {detail}"
    if parsed.get_backend_name() == "postgresql":
        where = f"{parsed.host or 'the local socket'}:{parsed.port or 5432}"
        # libpq: 'connection failed: connection to server at "h", port p failed: <reason>'
        reason = detail.rsplit(" failed: ", 1)[-1]
        who = f"database {parsed.database or '(default)'}, user {parsed.username or '(default)'}"
        return f"cannot connect to PostgreSQL at {where} ({who}): {reason}"
    return f"cannot open the database {parsed.render_as_string(hide_password=True)}: {detail}"


def open_database(url: str, *, migrate: bool = True) -> Store:
    """``open_store`` with its failures as :class:`DatabaseOpenError`."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        path = _sqlite_path(url)
    except SQLAlchemyError as exc:  # not a URL at all
        raise DatabaseOpenError(
            f"invalid database URL ({exc}): use sqlite:///PATH or postgresql://USER@HOST/DB"
        ) from None
    problem = path and _sqlite_problem(path)
    if problem:
        raise DatabaseOpenError(f"cannot open the SQLite database {path}: {problem}")
    try:
        return open_store(url, migrate=migrate)
    except (SQLAlchemyError, OSError, ImportError) as exc:  # ImportError: no driver for it
        raise DatabaseOpenError(_describe(url, exc)) from exc


def default_database(settings: Settings) -> str:
    """``database``, or an SQLite file in ``data_dir`` (default ``$XDG_DATA_HOME/valetkey``), which
    is created when missing. Raises :class:`DatabaseOpenError` when it cannot be."""
    import os
    from pathlib import Path

    if settings.database:
        return settings.database
    base = (
        settings.data_dir
        or os.environ.get("XDG_DATA_HOME")
        or str(Path.home() / ".local" / "share")
    )
    data = Path(base) / "valetkey" if not settings.data_dir else Path(base)
    try:
        data.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseOpenError(
            f"cannot create the data directory {data}: {str(exc.strerror or exc).lower()} "
            "(set data_dir, or database, to a directory you can write)"
        ) from None
    return f"sqlite:///{data / 'valetkey.db'}"


def client_record(
    c: ClientConfig,
    existing: Client | None = None,
    passwords: Passwords | None = None,
    sealing: bytes | None = None,
) -> Client:
    """``sealing``: the client_secret_key, for a client_secret_jwt client's secret (kept sealed,
    never as a digest: the MAC needs the secret itself, docs/client-auth.md)."""
    passwords = passwords or default_passwords()
    secret_digest, sealed = _unchanged(c, existing, passwords, sealing)
    if secret_digest is None and sealed is None:
        try:
            secret_digest, sealed = stored_secret(
                c.token_endpoint_auth_method, c.client_id, c.client_secret, sealing, passwords
            )
        except SealingKeyMissing as exc:
            raise ValueError(f"{exc}: set client_secret_key") from None
    return Client(
        client_id=c.client_id,
        client_name=c.client_name,
        secret_digest=secret_digest,
        redirect_uris=c.redirect_uris,
        grant_types=c.grant_types,
        response_types=c.response_types,
        token_endpoint_auth_method=c.token_endpoint_auth_method,
        scope=c.scope,
        require_pkce=c.require_pkce,
        pkce_methods=c.pkce_methods,
        post_logout_redirect_uris=c.post_logout_redirect_uris,
        dpop_bound_access_tokens=c.dpop_bound_access_tokens,
        require_pushed_authorization_requests=c.require_pushed_authorization_requests,
        jwks=c.jwks,
        jwks_uri=c.jwks_uri,
        token_endpoint_auth_signing_alg=c.token_endpoint_auth_signing_alg,
        secret_sealed=sealed,
    )


def _unchanged(
    c: ClientConfig, existing: Client | None, passwords: Passwords, sealing: bytes | None
) -> tuple[str | None, str | None]:
    """The stored (digest, sealed) while they still stand for the configured secret: Argon2 hashes
    and sealed values are salted, so a new one at every start would change for nothing."""
    secret, sealed_kind = c.client_secret, c.token_endpoint_auth_method == CLIENT_SECRET_JWT
    if existing is None or not secret:
        return None, None
    if not sealed_kind and existing.secret_digest:
        if passwords.verify_client_secret(secret, existing.secret_digest):
            return existing.secret_digest, None
    elif sealed_kind and existing.secret_sealed and sealing is not None:
        try:
            same = jose.unseal_secret(sealing, c.client_id, existing.secret_sealed)
        except ValueError:
            return None, None
        if hmac.compare_digest(same.encode(), secret.encode()):
            return None, existing.secret_sealed
    return None, None


def user_record(u: UserConfig, existing: User | None, passwords: Passwords | None = None) -> User:
    """A configured password's stored hash is kept while the password is the same (a hash with
    older parameters is redone at the user's next sign-in, like any other)."""
    passwords = passwords or default_passwords()
    if u.password_hash:
        password_hash = u.password_hash
    elif existing and u.password and passwords.verify(u.password, existing.password_hash):
        password_hash = existing.password_hash
    else:
        password_hash = passwords.hash(u.password or "")
    sub = existing.sub if existing else (u.sub or str(uuid.uuid4()))
    return User(sub=sub, username=u.username, password_hash=password_hash, claims=dict(u.claims))


def apply_config(settings: Settings, store: Store) -> None:
    passwords = passwords_for(settings)
    key = jose.sealing_key(settings.client_secret_key) if settings.client_secret_key else None
    for r in settings.resources:
        store.upsert_resource(Resource(r.identifier, r.scopes, r.name))
    for c in settings.clients:
        store.upsert_client(client_record(c, store.get_client(c.client_id), passwords, key))
    for u in settings.users:
        store.upsert_user(user_record(u, store.get_user_by_username(u.username), passwords))


def build_state(
    settings: Settings,
    *,
    store: Store | None = None,
    sink: EventSink | None = None,
    clock: Clock | None = None,
    apply: bool = True,
) -> ServerState:
    """``apply=False`` skips migrating and writing the configuration to the store: for a worker
    forked from a parent that has just done both with these very settings.

    Several instances may start together on one PostgreSQL database: migrations take turns on an
    advisory lock, the configuration's upserts are single statements that any number of instances
    may run at once (the Argon2 work before them runs in parallel), and the signing keys are
    created under ``startup_lock``, so every instance finds the keys the first one made."""
    store = store or open_database(default_database(settings), migrate=apply)
    if apply:
        apply_config(settings, store)
    with store.startup_lock():
        return ServerState.build(settings, store, sink or NullSink(), clock or SystemClock())
