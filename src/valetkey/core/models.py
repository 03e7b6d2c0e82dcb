"""Plain records passed between the store, the core and the server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from valetkey.core.records import fast_init

# The client authentication methods (RFC 7591 §2 token_endpoint_auth_method): their one home,
# for the server and the client library alike. The constants must be members of the Literal
# (mypy checks); tests/core check that AUTH_METHODS is every member of it.
AuthMethod = Literal[
    "client_secret_basic", "client_secret_post", "none", "private_key_jwt", "client_secret_jwt"
]
CLIENT_SECRET_BASIC: Final = "client_secret_basic"  # RFC 6749 §2.3.1: HTTP Basic
CLIENT_SECRET_POST: Final = "client_secret_post"  # RFC 6749 §2.3.1: in the request body
PUBLIC_AUTH: Final = "none"  # a public client: its client_id alone
# private_key_jwt and client_secret_jwt: RFC 7523 §2.2 assertions (OIDC Core §9; core.client_assertion)
PRIVATE_KEY_JWT: Final = "private_key_jwt"
CLIENT_SECRET_JWT: Final = "client_secret_jwt"
JWT_METHODS: tuple[AuthMethod, ...] = (PRIVATE_KEY_JWT, CLIENT_SECRET_JWT)
AUTH_METHODS: tuple[AuthMethod, ...] = (
    CLIENT_SECRET_BASIC,
    CLIENT_SECRET_POST,
    PUBLIC_AUTH,
    *JWT_METHODS,
)
GRANT_TYPES = (
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "implicit",
    "password",
    "urn:ietf:params:oauth:grant-type:device_code",  # RFC 8628 §3.4
)
RESPONSE_TYPES = ("code", "token")


@dataclass(frozen=True)
class Client:
    client_id: str
    client_name: str = ""
    secret_digest: str | None = None
    redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ("authorization_code",)
    response_types: tuple[str, ...] = ("code",)
    token_endpoint_auth_method: str = CLIENT_SECRET_BASIC
    scope: tuple[str, ...] = ()
    require_pkce: bool = True
    pkce_methods: tuple[str, ...] = ("S256",)
    post_logout_redirect_uris: tuple[str, ...] = ()
    dpop_bound_access_tokens: bool = False  # RFC 9449 §5.2: every token request needs a proof
    require_pushed_authorization_requests: bool = False  # RFC 9126 §6: only via /par
    # private_key_jwt (RFC 7591 §2): exactly one of an inline JWK Set (public keys) or its URL
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    token_endpoint_auth_signing_alg: str | None = None  # OIDC Registration §2: the only alg
    # client_secret_jwt: the secret sealed with AES-256-GCM under the server's client_secret_key
    # (never a digest: a MAC needs the secret itself, RFC 7518 §3.2), client_id as associated data
    secret_sealed: str | None = field(default=None, repr=False)

    @property
    def is_public(self) -> bool:
        return self.token_endpoint_auth_method == PUBLIC_AUTH

    @property
    def jwt_auth(self) -> bool:
        """The client authenticates with an assertion (RFC 7523 §2.2)."""
        return self.token_endpoint_auth_method in JWT_METHODS


@dataclass(frozen=True)
class User:
    sub: str
    username: str
    password_hash: str
    claims: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Resource:
    identifier: str
    scopes: tuple[str, ...] = ()
    name: str = ""


@fast_init
@dataclass(frozen=True)
class AuthorizationCode:
    code_digest: str
    client_id: str
    redirect_uri: str
    sub: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    code_challenge: str | None
    code_challenge_method: str | None
    grant_id: str
    flow_id: str
    issued_at: float
    expires_at: float
    auth_time: float
    nonce: str | None = None
    redirect_uri_given: bool = True
    consumed_at: float | None = None
    dpop_jkt: str | None = None  # RFC 9449 §10: the key the code exchange must prove

    def grant(self) -> Grant:
        """The grant the code was issued for, as its tokens carry it."""
        return Grant(
            grant_id=self.grant_id,
            client_id=self.client_id,
            sub=self.sub,
            scope=self.scope,
            audience=self.audience,
            created_at=self.issued_at,
            flow_id=self.flow_id,
            auth_time=self.auth_time,
            nonce=self.nonce,
        )


@fast_init
@dataclass(frozen=True)
class Grant:
    grant_id: str
    client_id: str
    sub: str | None
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    created_at: float
    flow_id: str = ""
    auth_time: float | None = None
    nonce: str | None = None
    revoked_at: float | None = None
    revoked_reason: str | None = None


@fast_init
@dataclass(frozen=True)
class RefreshToken:
    token_digest: str
    grant_id: str
    client_id: str
    scope: tuple[str, ...]
    issued_at: float
    expires_at: float
    used_at: float | None = None
    revoked_at: float | None = None
    dpop_jkt: str | None = None  # RFC 9449 §5: a public client's refresh needs a proof by this key


@fast_init
@dataclass(frozen=True)
class AccessTokenRecord:
    jti: str
    grant_id: str | None
    client_id: str
    sub: str | None
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    issued_at: float
    expires_at: float
    revoked_at: float | None = None


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private_jwk: Mapping[str, Any]
    created_at: float
    active: bool = True
    retired_at: float | None = None


@fast_init
@dataclass(frozen=True)
class LoginSession:
    session_id: str
    sub: str
    auth_time: float
    expires_at: float


@fast_init
@dataclass(frozen=True)
class Issuance:
    """What one successful token request writes: an access token, maybe a refresh token, maybe a new grant."""

    access: AccessTokenRecord | None
    refresh: RefreshToken | None = None
    grant: Grant | None = None


@fast_init
@dataclass(frozen=True)
class NewCode:
    """What an approved authorization request writes: the grant and its one-time code."""

    code: AuthorizationCode
    grant: Grant


DeviceStatus = Literal["pending", "approved", "denied", "consumed"]


@dataclass(frozen=True)
class DeviceCode:
    """A device authorization as the server keeps it (RFC 8628 §3.2); ``sub`` and ``grant_id``
    are set when the user approves, ``denied_at`` when they refuse, ``consumed_at`` when tokens
    were issued. ``user_code`` is what the server keeps of the user code: its digest."""

    device_code_digest: str
    user_code: str
    client_id: str
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    issued_at: float
    expires_at: float
    flow_id: str = ""
    sub: str | None = None
    grant_id: str | None = None
    auth_time: float | None = None
    denied_at: float | None = None
    consumed_at: float | None = None

    @property
    def status(self) -> DeviceStatus:
        if self.consumed_at is not None:
            return "consumed"
        if self.denied_at is not None:
            return "denied"
        return "approved" if self.sub is not None else "pending"

    def grant(self) -> Grant:
        """The grant an approved device code's tokens carry."""
        assert self.sub is not None and self.grant_id is not None, "approved codes only"
        return Grant(
            grant_id=self.grant_id,
            client_id=self.client_id,
            sub=self.sub,
            scope=self.scope,
            audience=self.audience,
            created_at=self.issued_at,
            flow_id=self.flow_id,
            auth_time=self.auth_time,
        )


@dataclass(frozen=True)
class NewDeviceCode:
    """What a device authorization request writes: the pending code and its polling interval."""

    code: DeviceCode
    interval: int


# The rows a request creates: written together, all or none (``Store.save_all``).
NewRows = Issuance | NewCode | NewDeviceCode
