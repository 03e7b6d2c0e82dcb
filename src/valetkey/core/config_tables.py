"""The configuration file's arrays of tables: ``[[clients]]``, ``[[users]]`` and ``[[resources]]``.

A client's metadata is judged by ``core.client_metadata`` (the rules every source shares); what is
particular to the file is read here: ``client_id`` and ``client_secret`` (a registration server
issues both itself, RFC 7591 §3.2.1) and unknown keys, which the file refuses where a registration
request's would be ignored. Problems are collected with the key that has them, all at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from valetkey.core import scopes
from valetkey.core.claims import STANDARD_CLAIMS
from valetkey.core.client_assertion import CLIENT_SECRET_JWT, PRIVATE_KEY_JWT
from valetkey.core.client_metadata import FIELDS, check_client_metadata
from valetkey.core.models import AUTH_METHODS, CLIENT_SECRET_BASIC, PUBLIC_AUTH

T = TypeVar("T")
CLIENT_KEYS = frozenset({"client_id", "client_secret", *FIELDS})
# Keys that may also be given as KEY_file or KEY_env (``core.config_secrets``).
CLIENT_SECRETS = ("client_secret",)
MIN_MAC_SECRET = 32  # bytes: RFC 7518 §3.2, a key at least as long as HS256's hash
USER_SECRETS = ("password", "password_hash")


class Collector:
    def __init__(self) -> None:
        self.problems: list[str] = []
        self._muted: set[str] = set()

    def add(self, key: str, message: str) -> None:
        if key not in self._muted:
            self.problems.append(f"{key}: {message}")

    def mute(self, key: str) -> None:
        """Drop later problems of ``key``: its real problem has been reported under another key."""
        self._muted.add(key)


@dataclass(frozen=True)
class ClientConfig:
    client_id: str
    client_secret: str | None = field(repr=False)
    client_name: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    token_endpoint_auth_method: str
    scope: tuple[str, ...]
    require_pkce: bool
    pkce_methods: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()
    dpop_bound_access_tokens: bool = False
    require_pushed_authorization_requests: bool = False
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    token_endpoint_auth_signing_alg: str | None = None


@dataclass(frozen=True)
class UserConfig:
    username: str
    password: str | None = field(repr=False)
    password_hash: str | None = field(repr=False)
    sub: str | None
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceConfig:
    identifier: str
    scopes: tuple[str, ...]
    name: str = ""


def _secret(raw: Mapping[str, Any], key: str, errs: Collector) -> tuple[str | None, object]:
    """The client secret and the auth method it implies when none is named."""
    secret = raw.get("client_secret")
    if secret is not None and (not isinstance(secret, str) or not secret):
        errs.add(f"{key}.client_secret", "must be a non-empty string")
        secret = None
    method = raw.get("token_endpoint_auth_method", CLIENT_SECRET_BASIC if secret else PUBLIC_AUTH)
    if method == PUBLIC_AUTH and secret:
        errs.add(
            f"{key}.client_secret",
            'a public client (token_endpoint_auth_method = "none") has no secret',
        )
    elif method == PRIVATE_KEY_JWT and secret:
        errs.add(
            f"{key}.client_secret",
            "a private_key_jwt client has no secret: the server holds only its public keys "
            "(jwks or jwks_uri)",
        )
    elif method in AUTH_METHODS and method not in (PUBLIC_AUTH, PRIVATE_KEY_JWT) and not secret:
        errs.add(f"{key}.client_secret", f"is required for token_endpoint_auth_method = {method!r}")
    elif method == CLIENT_SECRET_JWT and secret and len(secret.encode("utf-8")) < MIN_MAC_SECRET:
        errs.add(
            f"{key}.client_secret",
            f"must be at least {MIN_MAC_SECRET} bytes for client_secret_jwt (HS256's key size, "
            "RFC 7518 §3.2); generate one with secrets.token_urlsafe(32)",
        )
    return secret, method


def read_client(raw: Any, key: str, errs: Collector, insecure: bool = False) -> ClientConfig | None:
    if not isinstance(raw, dict):
        errs.add(key, "must be a table")
        return None
    for extra in sorted(set(raw) - CLIENT_KEYS):
        errs.add(f"{key}.{extra}", f"unknown key; known keys are {', '.join(sorted(CLIENT_KEYS))}")
    client_id = raw.get("client_id")
    if not isinstance(client_id, str) or not client_id.strip():
        errs.add(f"{key}.client_id", "is required and must be a non-empty string")
        client_id = ""
    secret, method = _secret(raw, key, errs)
    result = check_client_metadata(
        {**raw, "token_endpoint_auth_method": method}, insecure_demo=insecure
    )
    for problem in result.problems:
        errs.add(f"{key}.{problem.path}", problem.message)
    v = result.value
    if v is None:
        return None
    return ClientConfig(
        client_id=client_id,
        client_secret=secret,
        client_name=client_id if v.client_name is None else v.client_name,
        redirect_uris=v.redirect_uris,
        grant_types=v.grant_types,
        response_types=v.response_types,
        token_endpoint_auth_method=v.token_endpoint_auth_method,
        scope=v.scope,
        require_pkce=v.require_pkce,
        pkce_methods=v.pkce_methods,
        post_logout_redirect_uris=v.post_logout_redirect_uris,
        dpop_bound_access_tokens=v.dpop_bound_access_tokens,
        require_pushed_authorization_requests=v.require_pushed_authorization_requests,
        jwks=v.jwks,
        jwks_uri=v.jwks_uri,
        token_endpoint_auth_signing_alg=v.token_endpoint_auth_signing_alg,
    )


def read_user(raw: Any, key: str, errs: Collector) -> UserConfig | None:
    if not isinstance(raw, dict):
        errs.add(key, "must be a table")
        return None
    username = raw.get("username")
    if not isinstance(username, str) or not username.strip():
        errs.add(f"{key}.username", "is required")
        return None
    password, password_hash = raw.get("password"), raw.get("password_hash")
    if password is None and password_hash is None:
        errs.add(
            f"{key}.password", "give a password (hashed with Argon2id on load) or a password_hash"
        )
    if password is not None and password_hash is not None:
        errs.add(f"{key}.password", "give either password or password_hash, not both")
    if password_hash is not None and not str(password_hash).startswith("$argon2"):
        errs.add(f"{key}.password_hash", "must be an Argon2 hash (starting with $argon2id$)")
    claims: dict[str, Any] = {}
    for name, value in raw.items():
        if name in ("username", "password", "password_hash", "sub"):
            continue
        if name not in STANDARD_CLAIMS:
            errs.add(
                f"{key}.{name}", "unknown key; use an OpenID standard claim name (name, email, ...)"
            )
            continue
        claims[name] = value
    sub = raw.get("sub")
    if sub is not None and (not isinstance(sub, str) or not sub):
        errs.add(f"{key}.sub", "must be a non-empty string")
    return UserConfig(username, password, password_hash, sub, claims)


def read_resource(raw: Any, key: str, errs: Collector) -> ResourceConfig | None:
    if not isinstance(raw, dict):
        errs.add(key, "must be a table")
        return None
    identifier = raw.get("identifier")
    if not isinstance(identifier, str) or not identifier:
        errs.add(
            f"{key}.identifier", "is required (the audience of access tokens for this resource)"
        )
        return None
    owned = raw.get("scopes", [])
    if isinstance(owned, str):
        owned = owned.split()
    if not isinstance(owned, list) or not all(isinstance(x, str) for x in owned):
        errs.add(f"{key}.scopes", "must be a list of strings")
        owned = []
    for s in owned:
        if s in scopes.OIDC_SCOPES:
            errs.add(
                f"{key}.scopes", f"{s!r} belongs to OpenID Connect and the authorization server"
            )
    return ResourceConfig(identifier, tuple(owned), str(raw.get("name", "")))


def read_tables(
    merged: Mapping[str, Any],
    key: str,
    read: Callable[[Any, str, Collector], T | None],
    errs: Collector,
) -> list[T]:
    raw = merged.get(key, [])
    if not isinstance(raw, list):
        errs.add(key, f"must be an array of tables ([[{key}]])")
        return []
    out = []
    for i, item in enumerate(raw):
        parsed = read(item, f"{key}[{i}]", errs)
        if parsed is not None:
            out.append(parsed)
    return out


def read_clients(merged: Mapping[str, Any], errs: Collector, insecure: bool) -> list[ClientConfig]:
    clients = read_tables(merged, "clients", lambda r, k, e: read_client(r, k, e, insecure), errs)
    seen: set[str] = set()
    raw_clients = merged.get("clients", [])
    for i, raw in enumerate(raw_clients if isinstance(raw_clients, list) else []):
        cid = raw.get("client_id") if isinstance(raw, dict) else None
        if isinstance(cid, str) and cid in seen:
            errs.add(f"clients[{i}].client_id", f"duplicate client_id {cid!r}")
        if isinstance(cid, str):
            seen.add(cid)
    return clients
