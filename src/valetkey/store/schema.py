"""Table definitions (SQLAlchemy Core). Migrations in ``migrations/`` create exactly these."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

clients = sa.Table(
    "clients",
    metadata,
    sa.Column("client_id", sa.String(255), primary_key=True),
    sa.Column("client_name", sa.String(255), nullable=False, server_default=""),
    sa.Column("secret_digest", sa.String(255)),
    sa.Column("metadata", sa.JSON, nullable=False),
    sa.Column("source", sa.String(16), nullable=False, server_default="config"),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    # client_secret_jwt: the secret sealed with AES-256-GCM under client_secret_key (0010)
    sa.Column("secret_sealed", sa.Text, nullable=True),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("sub", sa.String(255), primary_key=True),
    sa.Column("username", sa.String(255), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("claims", sa.JSON, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)

resources = sa.Table(
    "resources",
    metadata,
    sa.Column("identifier", sa.String(512), primary_key=True),
    sa.Column("name", sa.String(255), nullable=False, server_default=""),
    sa.Column("scopes", sa.Text, nullable=False, server_default=""),
)

signing_keys = sa.Table(
    "signing_keys",
    metadata,
    sa.Column("kid", sa.String(64), primary_key=True),
    sa.Column("alg", sa.String(16), nullable=False),
    sa.Column("private_jwk", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("retired_at", sa.Float),
)

server_secrets = sa.Table(
    "server_secrets",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

login_sessions = sa.Table(
    "login_sessions",
    metadata,
    sa.Column("session_digest", sa.String(64), primary_key=True),
    sa.Column("sub", sa.String(255), nullable=False),
    sa.Column("auth_time", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)

consents = sa.Table(
    "consents",
    metadata,
    sa.Column("sub", sa.String(255), primary_key=True),
    sa.Column("client_id", sa.String(255), primary_key=True),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)

grants = sa.Table(
    "grants",
    metadata,
    sa.Column("grant_id", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.String(255), nullable=False, index=True),
    sa.Column("sub", sa.String(255), index=True),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("audience", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("flow_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("auth_time", sa.Float),
    sa.Column("nonce", sa.String(512)),
    sa.Column("revoked_at", sa.Float),
    sa.Column("revoked_reason", sa.String(255)),
    sqlite_with_rowid=False,  # migration 0003
)

authorization_codes = sa.Table(
    "authorization_codes",
    metadata,
    sa.Column("code_digest", sa.String(64), primary_key=True),
    sa.Column("grant_id", sa.String(64), nullable=False),
    sa.Column("client_id", sa.String(255), nullable=False),
    sa.Column("redirect_uri", sa.Text, nullable=False),
    sa.Column("redirect_uri_given", sa.Boolean, nullable=False),
    sa.Column("sub", sa.String(255), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("audience", sa.Text, nullable=False),
    sa.Column("code_challenge", sa.String(128)),
    sa.Column("code_challenge_method", sa.String(8)),
    sa.Column("flow_id", sa.String(64), nullable=False),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("auth_time", sa.Float, nullable=False),
    sa.Column("nonce", sa.String(512)),
    sa.Column("consumed_at", sa.Float),
    sa.Column("dpop_jkt", sa.String(64)),  # migration 0006_dpop
    sqlite_with_rowid=False,  # migration 0003
)

refresh_tokens = sa.Table(
    "refresh_tokens",
    metadata,
    sa.Column("token_digest", sa.String(64), primary_key=True),
    sa.Column("grant_id", sa.String(64), nullable=False, index=True),
    sa.Column("client_id", sa.String(255), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("used_at", sa.Float),
    sa.Column("revoked_at", sa.Float),
    sa.Column("dpop_jkt", sa.String(64)),  # migration 0006_dpop
    sqlite_with_rowid=False,  # migration 0003
)

access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("jti", sa.String(64), primary_key=True),
    sa.Column("grant_id", sa.String(64)),
    sa.Column("client_id", sa.String(255), nullable=False),
    sa.Column("sub", sa.String(255)),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("audience", sa.Text, nullable=False),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
    # Partial (migration 0002): client-credentials tokens have no grant and need no entry. Only
    # SQLite databases are created from these definitions; migration 0002 makes the index partial
    # on PostgreSQL too (a postgresql_where here would load SQLAlchemy's PostgreSQL dialect at
    # every start).
    sa.Index(
        "ix_access_tokens_grant_id",
        "grant_id",
        sqlite_where=sa.text("grant_id IS NOT NULL"),
    ),
    sqlite_with_rowid=False,  # migration 0003
)

# RFC 8628: one row per device authorization; both codes kept only as digests (§5.1-5.2).
# Pending until the user approves (sub, grant_id, auth_time set) or denies (denied_at); consumed
# once when the device's poll receives tokens. last_poll_at and poll_interval pace the polling
# (§3.5 slow_down).
device_codes = sa.Table(
    "device_codes",
    metadata,
    sa.Column("device_code_digest", sa.String(64), primary_key=True),
    sa.Column("user_code_digest", sa.String(64), nullable=False, unique=True),
    sa.Column("client_id", sa.String(255), nullable=False),
    sa.Column("scope", sa.Text, nullable=False),
    sa.Column("audience", sa.Text, nullable=False),
    sa.Column("flow_id", sa.String(64), nullable=False),
    sa.Column("issued_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
    sa.Column("poll_interval", sa.Integer, nullable=False),
    sa.Column("last_poll_at", sa.Float),
    sa.Column("sub", sa.String(255)),
    sa.Column("grant_id", sa.String(64)),
    sa.Column("auth_time", sa.Float),
    sa.Column("denied_at", sa.Float),
    sa.Column("consumed_at", sa.Float),
    # Migration 0011: a client's pending codes are counted against its cap (core/throttle.py),
    # and codes long expired are purged by expiry.
    sa.Index("ix_device_codes_client_id_expires_at", "client_id", "expires_at"),
    sa.Index("ix_device_codes_expires_at", "expires_at"),
)


# RFC 9449 §11.1: the DPoP proofs seen, by replay key (SHA-256 of key, URI and jti), until they
# expire; every instance shares it (migration 0006_dpop).
dpop_jti = sa.Table(
    "dpop_jti",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
)


# Guessing defences (core/throttle.py; migration 0007_throttle): one row per throttled key, the
# digest of its kind and value (never a username, address or client_id in clear).
throttle = sa.Table(
    "throttle",
    metadata,
    sa.Column("key_digest", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("blocked_until", sa.Float, nullable=False),
    # Migration 0012: when the key's failures are forgotten (the end of its window plus its kind's
    # ``forget``); forgotten rows are pruned by it, oldest first, a bounded number at a time.
    sa.Column("forget_at", sa.Float, nullable=False),
    sa.Index("ix_throttle_forget_at", "forget_at"),
    sqlite_with_rowid=False,
)


# RFC 9126: pushed authorization requests, by the digest of their request_uri; used once, when the
# code is issued (a reload of the sign-in or consent page before that still finds it).
pushed_requests = sa.Table(
    "pushed_requests",
    metadata,
    sa.Column("request_digest", sa.String(64), primary_key=True),
    sa.Column("client_id", sa.String(255), nullable=False),
    sa.Column("params", sa.Text, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False, index=True),
    sa.Column("used_at", sa.Float),
    # Migration 0011: a client's unused requests are counted against its cap (core/throttle.py).
    sa.Index("ix_pushed_requests_client_id_expires_at", "client_id", "expires_at"),
    sqlite_with_rowid=False,
)


# The flow inspector's events (``serve --inspector``): one row per event, redacted JSON, numbered
# in the order written. Every instance on a database writes here; an inspector follows the id, so it
# sees the flows of all of them. Pruned by count (the id) and age (``time``).
events = sa.Table(
    "events",
    metadata,
    sa.Column(
        "id",
        sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True,
        autoincrement=True,
    ),
    sa.Column("flow_id", sa.String(64), nullable=False),
    sa.Column("time", sa.Float, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Index("ix_events_time", "time"),
)
