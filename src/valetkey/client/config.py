"""What the client knows: the server's endpoints, its own registration, and custom parameters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from valetkey.client.errors import ConfigError
from valetkey.core.models import (
    AUTH_METHODS,
    CLIENT_SECRET_BASIC,
    CLIENT_SECRET_JWT,
    CLIENT_SECRET_POST,
    PRIVATE_KEY_JWT,
    PUBLIC_AUTH,
    AuthMethod,
)
from valetkey.core.redirect import is_loopback_host

Placement = Literal["body", "query", "header"]
Target = Literal["auth", "token", "refresh"]
PLACEMENTS: tuple[Placement, ...] = ("body", "query", "header")
# The aud of a client assertion: the exact URL the request goes to (default), the issuer, the
# token endpoint for every request, or a URL given as is (docs/client-auth.md says why).
AUDIENCES = ("endpoint", "issuer", "token_endpoint")
# --client-auth and a profile's client_auth: the names offered (click.Choice is built from it)
# and the method each stands for; a profile may also give "post" or a method's own name.
CLIENT_AUTH_CHOICES: dict[str, AuthMethod] = {
    "basic": CLIENT_SECRET_BASIC,
    "body": CLIENT_SECRET_POST,
    PUBLIC_AUTH: PUBLIC_AUTH,
    PRIVATE_KEY_JWT: PRIVATE_KEY_JWT,
    CLIENT_SECRET_JWT: CLIENT_SECRET_JWT,
}
AUTH_ALIASES: dict[str, AuthMethod] = {
    **CLIENT_AUTH_CHOICES,
    "post": CLIENT_SECRET_POST,
    **{method: method for method in AUTH_METHODS},
}


@dataclass(frozen=True)
class Endpoints:
    """Server endpoints, discovered (RFC 8414) or given one by one."""

    authorization_endpoint: str | None = None
    token_endpoint: str | None = None
    refresh_endpoint: str | None = None  # defaults to the token endpoint
    revocation_endpoint: str | None = None
    jwks_uri: str | None = None
    issuer: str | None = None
    iss_parameter_supported: bool = False  # RFC 9207 §3
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def refresh_url(self) -> str | None:
        return self.refresh_endpoint or self.token_endpoint

    def override(self, **values: str | None) -> Endpoints:
        """Explicit URLs win over discovered ones."""
        given: dict[str, Any] = {k: v for k, v in values.items() if v}
        return replace(self, **given) if given else self

    def to_dict(self) -> dict[str, Any]:
        return {
            "authorization_endpoint": self.authorization_endpoint,
            "token_endpoint": self.token_endpoint,
            "refresh_endpoint": self.refresh_endpoint,
            "revocation_endpoint": self.revocation_endpoint,
            "jwks_uri": self.jwks_uri,
            "issuer": self.issuer,
            "iss_parameter_supported": self.iss_parameter_supported,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Endpoints:
        def url(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) else None

        return cls(
            authorization_endpoint=url("authorization_endpoint"),
            token_endpoint=url("token_endpoint"),
            refresh_endpoint=url("refresh_endpoint"),
            revocation_endpoint=url("revocation_endpoint"),
            jwks_uri=url("jwks_uri"),
            issuer=url("issuer"),
            iss_parameter_supported=bool(data.get("iss_parameter_supported")),
        )


# Parameters the flows set themselves (a custom copy would send the key twice).
RESERVED: dict[str, frozenset[str]] = {
    "auth": frozenset(
        {"response_type", "client_id", "redirect_uri", "state", "nonce", "code_challenge",
         "code_challenge_method"}
    ),
    "token": frozenset(
        {"grant_type", "code", "code_verifier", "redirect_uri", "client_id", "client_secret",
         "username", "password", "client_assertion", "client_assertion_type"}
    ),
    "refresh": frozenset(
        {"grant_type", "refresh_token", "client_id", "client_secret", "client_assertion",
         "client_assertion_type"}
    ),
}  # fmt: skip


@dataclass(frozen=True)
class CustomParam:
    """One extra parameter for one request, sent in the body, the query or a header."""

    target: Target
    key: str
    value: str
    placement: Placement = "body"

    @classmethod
    def parse(cls, target: Target, text: str) -> CustomParam:
        """``[body:|query:|header:]KEY=VALUE``; the authorization request defaults to the query."""
        placement: Placement = "query" if target == "auth" else "body"
        head, sep, rest = text.partition(":")
        if sep and head in PLACEMENTS and "=" in rest:
            placement, text = head, rest
        key, eq, value = text.partition("=")
        if not eq or not key.strip():
            raise ConfigError(
                f"custom parameter {text!r} must look like [body:|query:|header:]KEY=VALUE"
            )
        reserved = RESERVED[target]
        if key.strip() in reserved and placement != "header":
            raise ConfigError(
                f"{key.strip()!r} is set by the flow itself; use its own option instead of a "
                "custom parameter"
            )
        if target == "auth" and placement == "header":
            raise ConfigError(
                f"the authorization request is a browser navigation: {key!r} can go in the query "
                "or the body (a form POST), not in a header the browser would never send"
            )
        return cls(target, key.strip(), value, placement)


@dataclass(frozen=True)
class ClientConfig:
    client_id: str
    endpoints: Endpoints
    client_secret: str | None = None
    auth_method: AuthMethod | None = None  # default: basic with a secret, none without
    scope: str | None = None
    redirect_uri: str | None = None
    params: tuple[CustomParam, ...] = ()
    # RFC 8707: sent on the authorization request and on every token request, refresh included.
    resources: tuple[str, ...] = ()
    # private_key_jwt / client_secret_jwt (RFC 7523 §2.2): the key file (PEM or JWK; only its
    # path is kept), the JWS alg (default: the key's, or HS256), the aud (AUDIENCES or a URL).
    private_key: str | None = None
    assertion_alg: str | None = None
    assertion_audience: str | None = None
    # RFC 9449: the private JWK of the DPoP key the tokens are bound to (kept with them, 0600).
    dpop_key: Mapping[str, Any] | None = field(default=None, repr=False)

    @property
    def method(self) -> AuthMethod:
        if self.auth_method is not None:
            return self.auth_method
        if self.private_key:
            return PRIVATE_KEY_JWT
        return CLIENT_SECRET_BASIC if self.client_secret else PUBLIC_AUTH

    @property
    def has_credentials(self) -> bool:
        """A secret, or a private key for private_key_jwt."""
        if self.method == PRIVATE_KEY_JWT:
            return bool(self.private_key)
        return bool(self.client_secret)

    def params_for(self, target: Target) -> list[CustomParam]:
        return [p for p in self.params if p.target == target]

    @property
    def wants_openid(self) -> bool:
        return "openid" in (self.scope or "").split()

    def to_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "auth_method": self.auth_method,
            "scope": self.scope,
            "redirect_uri": self.redirect_uri,
            "params": [[p.target, p.placement, p.key, p.value] for p in self.params],
            "resources": list(self.resources),
            "endpoints": self.endpoints.to_dict(),
            "private_key": self.private_key,
            "assertion_alg": self.assertion_alg,
            "assertion_audience": self.assertion_audience,
            "dpop_key": dict(self.dpop_key) if self.dpop_key else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClientConfig:
        params = tuple(CustomParam(t, k, v, pl) for t, pl, k, v in data.get("params") or ())
        return cls(
            client_id=str(data["client_id"]),
            endpoints=Endpoints.from_dict(data.get("endpoints") or {}),
            client_secret=data.get("client_secret"),
            auth_method=data.get("auth_method"),
            scope=data.get("scope"),
            redirect_uri=data.get("redirect_uri"),
            params=params,
            resources=tuple(str(r) for r in data.get("resources") or ()),
            private_key=data.get("private_key"),
            assertion_alg=data.get("assertion_alg"),
            assertion_audience=data.get("assertion_audience"),
            dpop_key=data.get("dpop_key") or None,
        )


def auth_method(name: str | None) -> AuthMethod | None:
    if name is None:
        return None
    full = AUTH_ALIASES.get(name)
    if full is None:
        *names, last = CLIENT_AUTH_CHOICES
        raise ConfigError(
            f"unknown client authentication {name!r}; use {', '.join(names)} or {last}"
        )
    return full


def assertion_audience(value: str | None) -> str | None:
    """One of AUDIENCES, or an absolute http(s) URL used as the aud exactly as given."""
    if value is None or value in AUDIENCES:
        return value
    return check_url(value, "--assertion-audience")


def check_url(value: str, flag: str) -> str:
    """An absolute http(s) URL, or a ConfigError naming the option."""
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigError(f"{flag} {value!r} is not a valid URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigError(f"{flag} {value!r} must be an absolute http:// or https:// URL")
    return value


def is_secure_url(url: str) -> bool:
    """https, or plain http to a loopback host (RFC 9700 §2.6; RFC 8252 §8.3 for loopback)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and is_loopback_host(parts.hostname or "")


def require(value: str | None, what: str, flag: str) -> str:
    if not value:
        raise ConfigError(f"{what} is needed: give {flag} or an issuer to discover it from")
    return check_url(value, flag)


def check_resource(value: str, flag: str = "--resource") -> str:
    """RFC 8707 §2: a resource indicator is an absolute URI without a fragment."""
    parts = urlsplit(value)
    if not parts.scheme or not (parts.netloc or parts.path) or " " in value:
        raise ConfigError(
            f"{flag} {value!r} must be an absolute URI such as https://api.example.com"
        )
    if "#" in value:
        raise ConfigError(f"{flag} {value!r} must not have a fragment (RFC 8707 §2)")
    return value
