"""One frozen, validated settings object, built from a TOML mapping and ``VALETKEY_*`` variables.

Each top-level setting is declared once, as a field of :class:`Settings` made with :func:`setting`:
its default, its kind and its one-line documentation. The loader, the environment-variable parser,
the CLI's help and the README's table all read :data:`OPTIONS`. Everything here is pure: the caller
reads the file and passes the environment. Every problem is reported with the key that has it
(``clients[1].redirect_uris[0]: ...``), all at once. A secret (``secret=True`` here, and a table's
``client_secret`` or ``password``) may also come from a file or another variable
(``core.config_secrets``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from valetkey.core.config_secrets import (
    Sources,
    forms,
    read_cookie_keys,
    resolve,
    resolve_each,
)
from valetkey.core.config_tables import (
    CLIENT_SECRETS,
    USER_SECRETS,
    ClientConfig,
    Collector,
    ResourceConfig,
    UserConfig,
    read_clients,
    read_resource,
    read_tables,
    read_user,
)
from valetkey.core.cors import origin_problem
from valetkey.core.models import CLIENT_SECRET_JWT

Kind = Literal[
    "seconds",
    "count",
    "flag",
    "url",
    "text",
    "alg",
    "keys",
    "origins",
    "mode",
    "tokens",
    "path",
    "port",
    "format",
    "sealing_key",
]
LOG_FORMATS = ("text", "json")
ENV_PREFIX = "VALETKEY_"
TABLES = ("clients", "users", "resources", "demo")


def setting(default: Any, kind: Kind, doc: str, *, minimum: int = 1, secret: bool = False) -> Any:
    """A top-level setting: a dataclass field that carries its kind and documentation.
    ``secret``: also NAME_file / NAME_env (and VALETKEY_NAME_FILE), and never in a repr."""
    return field(
        default=default, repr=not secret, metadata={"setting": (kind, doc, minimum, secret)}
    )


@dataclass(frozen=True)
class Settings:
    issuer: str | None = setting(
        None,
        "url",
        "The issuer URL, base of every endpoint; unset: http://HOST:PORT of `valetkey serve`",
    )
    database: str | None = setting(
        None,
        "text",
        "sqlite:///PATH or postgresql://user:password@host/db (a secret); unset: an SQLite "
        "file in data_dir",
        secret=True,
    )
    data_dir: str | None = setting(
        None, "text", "Directory of the default SQLite database; unset: $XDG_DATA_HOME/valetkey"
    )
    authorization_code_ttl: int = setting(60, "seconds", "Lifetime of an authorization code")
    access_token_ttl: int = setting(600, "seconds", "Lifetime of an access token")
    refresh_token_ttl: int = setting(30 * 24 * 3600, "seconds", "Lifetime of a refresh token")
    id_token_ttl: int = setting(3600, "seconds", "Lifetime of an ID token")
    session_ttl: int = setting(12 * 3600, "seconds", "Lifetime of the sign-in session cookie")
    require_pushed_authorization_requests: bool = setting(
        False,
        "flag",
        "Accept authorization requests only through /par (RFC 9126 section 5); a client's own "
        "require_pushed_authorization_requests asks it for that client alone",
    )
    pushed_request_ttl: int = setting(
        60, "seconds", "Lifetime of a pushed authorization request's request_uri (RFC 9126)"
    )
    device_code_ttl: int = setting(
        600, "seconds", "Lifetime of a device code and its user code (RFC 8628 §3.2 expires_in)"
    )
    device_poll_interval: int = setting(
        5, "seconds", "Seconds a device waits between polls (RFC 8628 §3.2 interval)"
    )
    allow_deprecated_grants: bool = setting(
        False,
        "flag",
        "Allow the implicit and password grants (RFC 9700 §2.1.2, §2.4), marked deprecated on every use",
    )
    access_token_alg: str = setting(
        "ES256", "alg", "Signature algorithm of access tokens: ES256 or RS256"
    )
    id_token_alg: str = setting("RS256", "alg", "Signature algorithm of ID tokens: ES256 or RS256")
    key_reload_seconds: int = setting(
        30,
        "seconds",
        "How long an instance may serve a stale copy of the signing keys; 0: every request",
        minimum=0,
    )
    dpop_nonce_required: bool = setting(
        False,
        "flag",
        "Require a server nonce in DPoP proofs at the token endpoint (RFC 9449 §8): a proof "
        "without one is answered use_dpop_nonce with the nonce in DPoP-Nonce",
    )
    dpop_proof_max_age: int = setting(
        60, "seconds", "How long after its iat a DPoP proof is accepted (RFC 9449 §11.1)"
    )
    cookie_keys: tuple[str, ...] | None = setting(
        None,
        "keys",
        "Keys signing session cookies and CSRF tokens, newest first (a secret): the first "
        'signs, all verify; "stored": the key generated in the database; unset: ["stored"]',
        secret=True,
    )
    password_memory_kib: int = setting(
        7168,
        "count",
        "Argon2id memory per password hash in KiB (RFC 9106 m); the default and the next two "
        "are one of OWASP's equivalent configurations (7 MiB, t=5, p=1: the least CPU per check); "
        "a stored hash with other values is redone at sign-in",
        minimum=8,
    )
    password_iterations: int = setting(5, "count", "Argon2id passes over the memory (t)")
    password_parallelism: int = setting(1, "count", "Argon2id lanes (p); memory >= 8 KiB per lane")
    password_hash_concurrency: int | None = setting(
        None, "count", "Argon2id computations at once per process; unset: one per CPU"
    )
    password_hash_queue: int = setting(
        256,
        "count",
        "Password checks that may wait for a hashing slot per process; beyond: 503 + Retry-After",
        minimum=0,
    )
    password_hash_max_wait: int = setting(
        5, "seconds", "Longest wait for a hashing slot before a 503 with Retry-After"
    )
    allowed_origins: tuple[str, ...] = setting(
        (),
        "origins",
        "Web origins (https://app.example.com) whose browser apps may call the token, revocation "
        "and userinfo endpoints, beyond those of the clients' redirect URIs (CORS)",
    )
    registration: str = setting(
        "closed",
        "mode",
        'Dynamic client registration (RFC 7591) at /register: "closed" (only with an initial '
        'access token) or "open-native" (also public native clients without one)',
    )
    registration_tokens: tuple[str, ...] = setting(
        (),
        "tokens",
        "Initial access tokens that let a developer register any client (secrets, 32+ "
        "characters each)",
        secret=True,
    )
    client_secret_key: str | None = setting(
        None,
        "sealing_key",
        "The key sealing client_secret_jwt clients' secrets in the database with AES-256-GCM (a "
        "secret: 32 random bytes as base64url, `python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))'`); unset: no client_secret_jwt clients",
        secret=True,
    )
    metrics_path: str | None = setting(
        None,
        "path",
        "Serve Prometheus metrics at this path of the server's port (e.g. /metrics); unset: not "
        "there (docs/operations.md)",
    )
    metrics_port: int | None = setting(
        None,
        "port",
        "Serve Prometheus metrics at /metrics on this port of the server's host; unset: no "
        "metrics port",
    )
    metrics_token: str | None = setting(
        None,
        "text",
        "A bearer token that metrics_path requires (a secret); unset: metrics_path is open",
        secret=True,
    )
    client_id_metadata_documents: bool = setting(
        True,
        "flag",
        "Accept an https URL as client_id: the server fetches the Client ID Metadata Document "
        "there (SSRF-safe: public addresses only, no redirects, size cap, docs/outbound.md) and "
        "treats the client as public; the MCP authorization spec prefers it to registration",
    )
    development_allow_loopback_fetch: bool = setting(
        False,
        "flag",
        "Development and tests only: let outbound fetches (client metadata documents, jwks_uri) reach "
        "loopback addresses, and there also plain http and any port",
    )
    inspector_token: str | None = setting(
        None,
        "text",
        "The admin credential of `valetkey serve --inspector` (a secret, 16+ characters): the "
        "password of HTTP Basic (any user name) or a bearer token; unset: --inspector refuses "
        "to start",
        secret=True,
    )
    inspector_keep_events: int = setting(
        20000, "count", "Flow events the inspector keeps in the database; older ones are deleted"
    )
    inspector_keep_seconds: int = setting(
        7 * 24 * 3600, "seconds", "How long the inspector keeps a flow event in the database"
    )
    log_format: str = setting(
        "text",
        "format",
        'Log lines as "text" or "json" (one object a line, with a request id also sent as '
        "X-Request-Id and set on events)",
    )
    # Guessing defences (core/throttle.py, docs/throttling.md): growing delays, never a lockout.
    throttle_free_failures: int = setting(
        5,
        "count",
        "Failed sign-ins or client authentications allowed per account, client or address before "
        "delays begin (RFC 6749 §10.10, NIST SP 800-63B §5.2.2)",
    )
    throttle_first_delay: int = setting(
        1, "seconds", "The first delay after the free failures; each further failure doubles it"
    )
    throttle_account_cap: int = setting(
        60,
        "seconds",
        "Longest delay for one account or client: an attacker can slow its owner, never lock "
        "them out",
    )
    throttle_address_cap: int = setting(
        900, "seconds", "Longest delay for one client IP address (and its user-code entries)"
    )
    throttle_forget: int = setting(
        3600, "seconds", "Failures are forgotten this long after their delay ends"
    )
    throttle_redis_url: str | None = setting(
        None,
        "text",
        "redis://host:port/db (a secret): keep the throttle counts in Redis; unset: in the "
        "database, shared by every instance on it",
        secret=True,
    )
    # Flood defences (core/throttle.py, docs/throttling.md): requests that store a row without a
    # user's involvement, counted per address (public clients) and capped per client.
    device_authorizations_per_minute: int = setting(
        30,
        "count",
        "Device authorization requests (RFC 8628 §3.1) from public clients allowed per client "
        "IP address (an IPv6 /64) per minute; confidential clients are capped per client only; "
        "0: no limit",
        minimum=0,
    )
    pushed_requests_per_minute: int = setting(
        60,
        "count",
        "Pushed authorization requests (RFC 9126 §2) from public clients allowed per client IP "
        "address (an IPv6 /64) per minute; confidential clients are capped per client only; "
        "0: no limit",
        minimum=0,
    )
    device_codes_per_client: int = setting(
        1000,
        "count",
        "Unexpired device codes one client may have waiting for a user (RFC 8628 §3.2), counted "
        "in the database across instances; 0: no cap",
        minimum=0,
    )
    pushed_requests_per_client: int = setting(
        1000,
        "count",
        "Unexpired, unused pushed authorization requests one client may have at once (RFC 9126), "
        "counted in the database across instances; 0: no cap",
        minimum=0,
    )
    clients: tuple[ClientConfig, ...] = ()
    users: tuple[UserConfig, ...] = ()
    resources: tuple[ResourceConfig, ...] = ()
    demo: Mapping[str, Any] = field(default_factory=dict)

    def with_issuer(self, issuer: str) -> Settings:
        return replace(self, issuer=issuer.rstrip("/"))


@dataclass(frozen=True)
class Option:
    name: str
    default: Any
    kind: Kind
    doc: str
    minimum: int
    secret: bool = False

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def shown_default(self) -> str:
        """The default as it is written in TOML (``unset`` for none), durations also in words."""
        if self.default is None:
            return "unset"
        if isinstance(self.default, bool):
            return str(self.default).lower()
        if isinstance(self.default, tuple):
            return repr(list(self.default)).replace("'", '"')
        if self.kind == "seconds" and self.default >= 60:
            return f"{self.default} ({_in_words(self.default)})"
        return repr(self.default).replace("'", '"')


def _in_words(seconds: int) -> str:
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n > 1 else ''}"
    return f"{seconds} seconds"


OPTIONS: tuple[Option, ...] = tuple(
    Option(f.name, f.default, *f.metadata["setting"]) for f in fields(Settings) if f.metadata
)


class SettingsError(ValueError):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid configuration:\n  " + "\n  ".join(problems))
        self.problems = problems


def parse_toml(text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError([f"the file is not valid TOML: {exc}"]) from exc


def _env_overrides(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for option in OPTIONS:
        if option.secret and option.env + "_FILE" in env:
            out[option.name + "_file"] = env[option.env + "_FILE"]
        raw = env.get(option.env)
        if raw is None:
            continue
        if option.kind == "flag":
            out[option.name] = raw.strip().lower() in ("1", "true", "yes", "on")
        else:
            out[option.name] = raw.strip() if option.kind in ("seconds", "count") else raw
    return out


def _seconds(raw: Any, option: Option, errs: Collector) -> int:
    return _whole(raw, option, errs, "a whole number of seconds")


def _count(raw: Any, option: Option, errs: Collector) -> int | None:
    if raw is None and option.default is None:
        return None
    return _whole(raw, option, errs, "a whole number")


def _whole(raw: Any, option: Option, errs: Collector, what: str) -> int:
    key, minimum = option.name, option.minimum
    if isinstance(raw, bool):
        errs.add(key, f"must be {what}, not true/false")
        return 0
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if not isinstance(raw, int):
        errs.add(key, f"must be {what}, got {raw!r}")
        return 0
    if raw < minimum:
        errs.add(key, f"must be at least {minimum}, got {raw}")
    return raw


def _flag(raw: Any, option: Option, errs: Collector) -> bool:
    if not isinstance(raw, bool):
        errs.add(option.name, "must be true or false")
    return bool(raw)


def _url(raw: Any, option: Option, errs: Collector) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.startswith(("https://", "http://")):
        errs.add(option.name, "must be an http(s) URL")
    elif "?" in raw or "#" in raw:
        errs.add(option.name, "must not have a query or fragment (RFC 8414 §2)")
    return str(raw).rstrip("/")


def _text(raw: Any, option: Option, errs: Collector) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str):
        errs.add(option.name, "must be a string")
    return str(raw)


def _path(raw: Any, option: Option, errs: Collector) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.startswith("/") or "?" in raw or "#" in raw:
        errs.add(option.name, f"must be a path beginning with /, got {raw!r}")
    return str(raw)


def _port(raw: Any, option: Option, errs: Collector) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= 65535:
        errs.add(option.name, f"must be a port number from 1 to 65535, got {raw!r}")
        return None
    return raw


def _format(raw: Any, option: Option, errs: Collector) -> str:
    if raw not in LOG_FORMATS:
        errs.add(option.name, f"must be one of {', '.join(LOG_FORMATS)}, got {raw!r}")
    return str(raw)


def _alg(raw: Any, option: Option, errs: Collector) -> Any:
    if raw not in ("ES256", "RS256"):
        errs.add(option.name, f"must be ES256 or RS256, got {raw!r}")
    return raw


def _keys(raw: Any, option: Option, errs: Collector) -> tuple[str, ...] | None:
    return read_cookie_keys(raw, option.name, errs)


def _origins(raw: Any, option: Option, errs: Collector) -> tuple[str, ...]:
    if isinstance(raw, str):  # from the environment: separated by spaces or commas
        raw = raw.replace(",", " ").split()
    if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) for v in raw):
        errs.add(option.name, "must be a list of origins")
        return ()
    for i, value in enumerate(raw):
        problem = origin_problem(value)
        if problem:
            errs.add(f"{option.name}[{i}]", f"{value!r} {problem}")
    return tuple(raw)


def _mode(raw: Any, option: Option, errs: Collector) -> str:
    from valetkey.core.registration import MODES

    if raw not in MODES:
        errs.add(option.name, f"must be one of {', '.join(MODES)}, got {raw!r}")
        return str(option.default)
    return str(raw)


def _tokens(raw: Any, option: Option, errs: Collector) -> tuple[str, ...]:
    if isinstance(raw, str):  # from the environment or a file: separated by spaces or commas
        raw = raw.replace(",", " ").split()
    if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) for v in raw):
        errs.add(option.name, "must be a list of strings")
        return ()
    for i, value in enumerate(raw):
        if len(value) < 32:
            errs.add(f"{option.name}[{i}]", "must be at least 32 characters (a generated token)")
    return tuple(raw)


def _sealing_key(raw: Any, option: Option, errs: Collector) -> str | None:
    """32 random bytes as base64url (``core.jose.sealing_key``)."""
    text = _text(raw, option, errs)
    if text is not None:
        from valetkey.core.jose import sealing_key

        try:
            sealing_key(text)
        except ValueError as exc:
            errs.add(option.name, str(exc))
    return text


READERS: dict[Kind, Callable[[Any, Option, Collector], Any]] = {
    "seconds": _seconds,
    "count": _count,
    "flag": _flag,
    "url": _url,
    "text": _text,
    "alg": _alg,
    "keys": _keys,
    "origins": _origins,
    "mode": _mode,
    "tokens": _tokens,
    "path": _path,
    "port": _port,
    "format": _format,
    "sealing_key": _sealing_key,
}


def _merge(data: Mapping[str, Any], sources: Sources, errs: Collector) -> dict[str, Any]:
    """The file's settings under the environment's, with every secret given in place. A variable
    for a secret replaces the file's value of it in whichever form the file gives it."""
    overrides = _env_overrides(sources.env)
    replaced = {
        key
        for o in OPTIONS
        if o.secret and any(k in overrides for k in forms(o.name))
        for key in forms(o.name)
    }
    merged = {**{k: v for k, v in data.items() if k not in replaced}, **overrides}
    merged = resolve(merged, [o.name for o in OPTIONS if o.secret], "", sources, errs)
    for table, names in (("clients", CLIENT_SECRETS), ("users", USER_SECRETS)):
        if table in merged:
            merged[table] = resolve_each(merged[table], table, names, sources, errs)
    return merged


def _check_client_secret_key(key: str | None, clients: list[ClientConfig], errs: Collector) -> None:
    """A client_secret_jwt client needs the sealing key (docs/client-auth.md)."""
    for c in clients:
        if c.token_endpoint_auth_method == CLIENT_SECRET_JWT and key is None:
            errs.add(
                "clients",
                f"{c.client_id!r} uses client_secret_jwt, whose secret the server keeps sealed: "
                "set client_secret_key (or use private_key_jwt, which leaves no secret here)",
            )


def build_settings(
    data: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    read_file: Callable[[str], str] | None = None,
) -> Settings:
    """``read_file``: reads a ``*_file`` secret (``cli.config.read_secret_file``); without it,
    such settings are refused."""
    errs = Collector()
    sources = Sources(env or {}, read_file) if read_file else Sources(env or {})
    merged = _merge(data, sources, errs)
    known = {o.name for o in OPTIONS} | set(TABLES)
    for extra in sorted(set(merged) - known):
        errs.add(extra, f"unknown setting; known settings are {', '.join(sorted(known))}")
    values = {o.name: READERS[o.kind](merged.get(o.name, o.default), o, errs) for o in OPTIONS}
    if values["password_memory_kib"] < 8 * values["password_parallelism"]:
        errs.add("password_memory_kib", "must be at least 8 KiB per lane (RFC 9106 §3.1)")
    demo = merged.get("demo", {})
    insecure = isinstance(demo, dict) and demo.get("insecure") is True
    clients = read_clients(merged, errs, insecure)
    _check_client_secret_key(values["client_secret_key"], clients, errs)
    users = read_tables(merged, "users", read_user, errs)
    if len({u.username for u in users}) != len(users):
        errs.add("users", "usernames must be unique")
    resources = read_tables(merged, "resources", read_resource, errs)
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


__all__ = [
    "OPTIONS",
    "ClientConfig",
    "Option",
    "ResourceConfig",
    "Settings",
    "SettingsError",
    "UserConfig",
    "build_settings",
    "parse_toml",
]
