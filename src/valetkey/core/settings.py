"""One frozen, validated settings object, built from a TOML mapping and ``VALETKEY_*`` variables.

Everything here is pure: the caller reads the file and passes the environment. Every problem is
reported with the key that has it (``clients[1].redirect_uris[0]: ...``), all at once.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from valetkey.core import scopes
from valetkey.core.claims import STANDARD_CLAIMS
from valetkey.core.client_metadata import client_problems
from valetkey.core.models import AUTH_METHODS

DEFAULTS: dict[str, Any] = {
    "authorization_code_ttl": 60,
    "access_token_ttl": 600,
    "refresh_token_ttl": 30 * 24 * 3600,
    "id_token_ttl": 3600,
    "session_ttl": 12 * 3600,
    "allow_deprecated_grants": False,
    "access_token_alg": "ES256",
    "id_token_alg": "RS256",
    "key_reload_seconds": 30,
}
ENV_KEYS = (
    "issuer",
    "database",
    "data_dir",
    "authorization_code_ttl",
    "access_token_ttl",
    "refresh_token_ttl",
    "id_token_ttl",
    "session_ttl",
    "allow_deprecated_grants",
    "access_token_alg",
    "id_token_alg",
    "key_reload_seconds",
)


class SettingsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ClientConfig:
    client_id: str
    client_secret: str | None
    client_name: str
    redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    token_endpoint_auth_method: str
    scope: tuple[str, ...]
    require_pkce: bool
    pkce_methods: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...] = ()


@dataclass(frozen=True)
class UserConfig:
    username: str
    password: str | None
    password_hash: str | None
    sub: str | None
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResourceConfig:
    identifier: str
    scopes: tuple[str, ...]
    name: str = ""


@dataclass(frozen=True)
class Settings:
    issuer: str | None = None
    database: str | None = None
    data_dir: str | None = None
    authorization_code_ttl: int = 60
    access_token_ttl: int = 600
    refresh_token_ttl: int = 30 * 24 * 3600
    id_token_ttl: int = 3600
    session_ttl: int = 12 * 3600
    allow_deprecated_grants: bool = False
    access_token_alg: str = "ES256"
    id_token_alg: str = "RS256"
    key_reload_seconds: int = 30  # how long an instance may serve a stale copy of the signing keys
    clients: tuple[ClientConfig, ...] = ()
    users: tuple[UserConfig, ...] = ()
    resources: tuple[ResourceConfig, ...] = ()
    demo: Mapping[str, Any] = field(default_factory=dict)

    def with_issuer(self, issuer: str) -> Settings:
        from dataclasses import replace

        return replace(self, issuer=issuer.rstrip("/"))


def parse_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"the file is not valid TOML: {exc}"]) from exc


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ENV_KEYS:
        raw = env.get("VALETKEY_" + key.upper())
        if raw is None:
            continue
        default = DEFAULTS.get(key)
        if isinstance(default, bool):
            out[key] = raw.strip().lower() in ("1", "true", "yes", "on")
        elif isinstance(default, int):
            out[key] = raw.strip()
        else:
            out[key] = raw
    return out


class _Collector:
    def __init__(self) -> None:
        self.problems: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.problems.append(f"{key}: {message}")


def _int(raw: Any, key: str, errs: _Collector, minimum: int = 1) -> int:
    if isinstance(raw, bool):
        errs.add(key, "must be a whole number of seconds, not true/false")
        return 0
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int):
        errs.add(key, f"must be a whole number of seconds, got {raw!r}")
        return 0
    if raw < minimum:
        errs.add(key, f"must be at least {minimum}, got {raw}")
    return raw


def _str_list(raw: Any, key: str, errs: _Collector) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        errs.add(key, 'must be a list of strings, e.g. ["..."]')
        return ()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        errs.add(key, "must be a list of strings")
        return ()
    return tuple(raw)


def _client(raw: Any, key: str, errs: _Collector, insecure: bool = False) -> ClientConfig | None:
    if not isinstance(raw, dict):
        errs.add(key, "must be a table")
        return None
    known = {
        "client_id",
        "client_secret",
        "client_name",
        "redirect_uris",
        "grant_types",
        "response_types",
        "token_endpoint_auth_method",
        "scope",
        "require_pkce",
        "pkce_methods",
        "post_logout_redirect_uris",
    }
    for extra in sorted(set(raw) - known):
        errs.add(f"{key}.{extra}", f"unknown key; known keys are {', '.join(sorted(known))}")
    client_id = raw.get("client_id")
    if not isinstance(client_id, str) or not client_id.strip():
        errs.add(f"{key}.client_id", "is required and must be a non-empty string")
        client_id = ""
    secret = raw.get("client_secret")
    if secret is not None and (not isinstance(secret, str) or not secret):
        errs.add(f"{key}.client_secret", "must be a non-empty string")
        secret = None
    method = raw.get("token_endpoint_auth_method", "client_secret_basic" if secret else "none")
    if method not in AUTH_METHODS:
        errs.add(
            f"{key}.token_endpoint_auth_method",
            f"must be one of {', '.join(AUTH_METHODS)}, got {method!r}",
        )
    elif method == "none" and secret:
        errs.add(
            f"{key}.client_secret",
            'a public client (token_endpoint_auth_method = "none") has no secret',
        )
    elif method != "none" and not secret:
        errs.add(f"{key}.client_secret", f"is required for token_endpoint_auth_method = {method!r}")
    problems = client_problems(
        redirect_uris=_str_list(raw.get("redirect_uris"), f"{key}.redirect_uris", errs),
        grant_types=_str_list(
            raw.get("grant_types", ["authorization_code"]), f"{key}.grant_types", errs
        ),
        response_types=_str_list(raw.get("response_types"), f"{key}.response_types", errs) or None,
        public=method == "none",
        require_pkce=raw.get("require_pkce", True),
        pkce_methods=_str_list(raw.get("pkce_methods", ["S256"]), f"{key}.pkce_methods", errs),
        scope=raw.get("scope", ""),
        post_logout_redirect_uris=_str_list(
            raw.get("post_logout_redirect_uris"), f"{key}.post_logout_redirect_uris", errs
        ),
        insecure_demo=insecure,
    )
    for sub_key, message in problems.problems:
        errs.add(f"{key}.{sub_key}", message)
    if problems.value is None:
        return None
    v = problems.value
    return ClientConfig(
        client_id=client_id,
        client_secret=secret,
        client_name=str(raw.get("client_name", client_id)),
        redirect_uris=v["redirect_uris"],
        grant_types=v["grant_types"],
        response_types=v["response_types"],
        token_endpoint_auth_method=str(method),
        scope=v["scope"],
        require_pkce=v["require_pkce"],
        pkce_methods=v["pkce_methods"],
        post_logout_redirect_uris=v["post_logout_redirect_uris"],
    )


def _user(raw: Any, key: str, errs: _Collector) -> UserConfig | None:
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


def _resource(raw: Any, key: str, errs: _Collector) -> ResourceConfig | None:
    if not isinstance(raw, dict):
        errs.add(key, "must be a table")
        return None
    identifier = raw.get("identifier")
    if not isinstance(identifier, str) or not identifier:
        errs.add(
            f"{key}.identifier", "is required (the audience of access tokens for this resource)"
        )
        return None
    raw_scopes = raw.get("scopes", [])
    if isinstance(raw_scopes, str):
        raw_scopes = raw_scopes.split()
    owned = _str_list(raw_scopes, f"{key}.scopes", errs)
    for s in owned:
        if s in scopes.OIDC_SCOPES:
            errs.add(
                f"{key}.scopes", f"{s!r} belongs to OpenID Connect and the authorization server"
            )
    return ResourceConfig(identifier, owned, str(raw.get("name", "")))


def build_settings(data: Mapping[str, Any], env: Mapping[str, str] | None = None) -> Settings:
    merged: dict[str, Any] = {**data, **_env_overrides(env or {})}
    errs = _Collector()
    known_top = set(ENV_KEYS) | {"clients", "users", "resources", "demo"}
    for extra in sorted(set(merged) - known_top):
        errs.add(extra, f"unknown setting; known settings are {', '.join(sorted(known_top))}")
    values: dict[str, Any] = {}
    for key in (
        "authorization_code_ttl",
        "access_token_ttl",
        "refresh_token_ttl",
        "id_token_ttl",
        "session_ttl",
    ):
        values[key] = _int(merged.get(key, DEFAULTS[key]), key, errs)
    values["key_reload_seconds"] = _int(
        merged.get("key_reload_seconds", 30), "key_reload_seconds", errs, minimum=0
    )
    issuer = merged.get("issuer")
    if issuer is not None:
        if not isinstance(issuer, str) or not issuer.startswith(("https://", "http://")):
            errs.add("issuer", "must be an http(s) URL")
        elif "?" in issuer or "#" in issuer:
            errs.add("issuer", "must not have a query or fragment (RFC 8414 §2)")
        values["issuer"] = str(issuer).rstrip("/")
    for key in ("database", "data_dir"):
        if merged.get(key) is not None:
            if not isinstance(merged[key], str):
                errs.add(key, "must be a string")
            values[key] = str(merged[key])
    deprecated = merged.get("allow_deprecated_grants", False)
    if not isinstance(deprecated, bool):
        errs.add("allow_deprecated_grants", "must be true or false")
    values["allow_deprecated_grants"] = bool(deprecated)
    for key in ("access_token_alg", "id_token_alg"):
        alg = merged.get(key, DEFAULTS[key])
        if alg not in ("ES256", "RS256"):
            errs.add(key, f"must be ES256 or RS256, got {alg!r}")
        values[key] = alg
    demo = merged.get("demo", {})
    insecure = isinstance(demo, dict) and demo.get("insecure") is True
    clients = _list_of_tables(
        merged, "clients", lambda r, k, e: _client(r, k, e, insecure=insecure), errs
    )
    seen: set[str] = set()
    raw_clients = merged.get("clients", [])
    for i, raw in enumerate(raw_clients if isinstance(raw_clients, list) else []):
        cid = raw.get("client_id") if isinstance(raw, dict) else None
        if isinstance(cid, str) and cid in seen:
            errs.add(f"clients[{i}].client_id", f"duplicate client_id {cid!r}")
        if isinstance(cid, str):
            seen.add(cid)
    users = _list_of_tables(merged, "users", _user, errs)
    if len({u.username for u in users}) != len(users):
        errs.add("users", "usernames must be unique")
    resources = _list_of_tables(merged, "resources", _resource, errs)
    if not isinstance(demo, dict):
        errs.add("demo", "must be a table")
        demo = {}
    if errs.problems:
        raise SettingsError(errs.problems)
    return Settings(
        **values,
        clients=tuple(clients),
        users=tuple(users),
        resources=tuple(resources),
        demo=demo,
    )


def _list_of_tables(merged: Mapping[str, Any], key: str, parse: Any, errs: _Collector) -> list[Any]:
    raw = merged.get(key, [])
    if not isinstance(raw, list):
        errs.add(key, f"must be an array of tables ([[{key}]])")
        return []
    out = []
    for i, item in enumerate(raw):
        parsed = parse(item, f"{key}[{i}]", errs)
        if parsed is not None:
            out.append(parsed)
    return out
