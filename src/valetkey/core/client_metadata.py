"""Client metadata (RFC 7591 §2): one implementation for every source.

``check_client_metadata`` takes a metadata mapping as it arrives (a config file's ``[[clients]]``
table, the admin CLI's options, a registration request's JSON) and returns the validated, typed
:class:`ClientMetadata`, or every :class:`Problem`, each with its field path, rule and spec section.
Reading turns the mapping into typed :class:`MetadataInput` (a wrong JSON/TOML type is a problem
there); each rule of ``core.client_metadata_rules.METADATA_RULES`` then judges the typed values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from valetkey.core import scopes
from valetkey.core.client_metadata_keys import KEY_RULES
from valetkey.core.client_metadata_rules import METADATA_RULES as BASE_RULES
from valetkey.core.client_metadata_rules import MetadataInput, MetadataRule
from valetkey.core.models import Client

METADATA_RULES: tuple[MetadataRule, ...] = BASE_RULES + KEY_RULES

FIELDS = (
    "redirect_uris",
    "post_logout_redirect_uris",
    "grant_types",
    "response_types",
    "token_endpoint_auth_method",
    "client_name",
    "scope",
    "require_pkce",
    "pkce_methods",
    "dpop_bound_access_tokens",
    "require_pushed_authorization_requests",
    "jwks",
    "jwks_uri",
    "token_endpoint_auth_signing_alg",
)


@dataclass(frozen=True)
class Problem:
    path: str  # the field, with the index of a list item: "redirect_uris[1]"
    message: str
    rule: str
    spec: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class ClientMetadata:
    """Metadata every rule accepted."""

    redirect_uris: tuple[str, ...]
    post_logout_redirect_uris: tuple[str, ...]
    grant_types: tuple[str, ...]
    response_types: tuple[str, ...]
    token_endpoint_auth_method: str
    client_name: str | None
    scope: tuple[str, ...]
    require_pkce: bool
    pkce_methods: tuple[str, ...]
    dpop_bound_access_tokens: bool = False
    require_pushed_authorization_requests: bool = False
    jwks: Mapping[str, Any] | None = None
    jwks_uri: str | None = None
    token_endpoint_auth_signing_alg: str | None = None

    def client(self, client_id: str, secret_digest: str | None, name: str | None = None) -> Client:
        """The client record these accepted metadata describe."""
        return Client(
            client_id=client_id,
            client_name=name or self.client_name or client_id,
            secret_digest=secret_digest,
            redirect_uris=self.redirect_uris,
            grant_types=self.grant_types,
            response_types=self.response_types,
            token_endpoint_auth_method=self.token_endpoint_auth_method,
            scope=self.scope,
            require_pkce=self.require_pkce,
            pkce_methods=self.pkce_methods,
            post_logout_redirect_uris=self.post_logout_redirect_uris,
            dpop_bound_access_tokens=self.dpop_bound_access_tokens,
            require_pushed_authorization_requests=self.require_pushed_authorization_requests,
            jwks=self.jwks,
            jwks_uri=self.jwks_uri,
            token_endpoint_auth_signing_alg=self.token_endpoint_auth_signing_alg,
        )


@dataclass(frozen=True)
class MetadataResult:
    value: ClientMetadata | None  # None when there is any problem
    problems: tuple[Problem, ...]


TYPES_RULE, TYPES_SPEC = "check_field_types", "RFC 7591 §2"


class _Reader:
    """Reads each field with its RFC 7591 §2 type; a wrong type is a problem and reads as absent."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self.raw = raw
        self.problems: list[Problem] = []

    def wrong(self, name: str, message: str) -> None:
        self.problems.append(Problem(name, message, TYPES_RULE, TYPES_SPEC))

    def strings(self, name: str) -> tuple[str, ...] | None:
        value = self.raw.get(name)
        if value is None:
            return None
        if isinstance(value, str):
            self.wrong(name, 'must be a list of strings, e.g. ["..."]')
            return ()
        if not isinstance(value, list | tuple) or not all(isinstance(x, str) for x in value):
            self.wrong(name, "must be a list of strings")
            return ()
        return tuple(value)

    def flag(self, name: str, default: bool) -> bool:
        value = self.raw.get(name, default)
        if not isinstance(value, bool):
            self.wrong(name, "must be true or false")
            return default
        return value

    def scope(self) -> str:
        value = self.raw.get("scope", "")
        if isinstance(value, list):  # a TOML array of scope tokens reads as the string
            value = " ".join(str(s) for s in value)
        if not isinstance(value, str):
            self.wrong("scope", "must be a space-separated string")
            return ""
        return value

    def mapping(self, name: str) -> Mapping[str, Any] | None:
        value = self.raw.get(name)
        if value is not None and not isinstance(value, Mapping):
            self.wrong(name, 'must be a JSON object, e.g. {"keys": [...]}')
            return None
        return value

    def text(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is not None and not isinstance(value, str):
            self.wrong(name, "must be a string")
            return None
        return value


def read_client_metadata(
    raw: Mapping[str, object], *, insecure_demo: bool = False
) -> tuple[MetadataInput, list[Problem]]:
    """Typed metadata with the defaults applied; fields not in :data:`FIELDS` are ignored here
    (RFC 7591 §2: a server ignores metadata it does not understand)."""
    read = _Reader(raw)
    defaults = MetadataInput()
    method = raw.get("token_endpoint_auth_method", defaults.token_endpoint_auth_method)
    grant_types = read.strings("grant_types")
    pkce_methods = read.strings("pkce_methods")
    value = MetadataInput(
        redirect_uris=read.strings("redirect_uris") or (),
        post_logout_redirect_uris=read.strings("post_logout_redirect_uris") or (),
        grant_types=defaults.grant_types if grant_types is None else grant_types,
        response_types=read.strings("response_types") or None,
        token_endpoint_auth_method=str(method),
        client_name=read.text("client_name"),
        scope=read.scope(),
        require_pkce=read.flag("require_pkce", defaults.require_pkce),
        pkce_methods=defaults.pkce_methods if pkce_methods is None else pkce_methods,
        dpop_bound_access_tokens=read.flag("dpop_bound_access_tokens", False),
        require_pushed_authorization_requests=read.flag("require_pushed_authorization_requests", False),
        jwks=read.mapping("jwks"),
        jwks_uri=read.text("jwks_uri"),
        token_endpoint_auth_signing_alg=read.text("token_endpoint_auth_signing_alg"),
        insecure_demo=insecure_demo,
    )
    return value, read.problems


def check_client_metadata(
    raw: Mapping[str, object], *, insecure_demo: bool = False
) -> MetadataResult:
    """Every rule over the metadata: the accepted value, or every problem found."""
    m, problems = read_client_metadata(raw, insecure_demo=insecure_demo)
    for rule in METADATA_RULES:
        problems.extend(Problem(path, msg, rule.name, rule.spec) for path, msg in rule.find(m))
    if problems:
        return MetadataResult(None, tuple(problems))
    accepted = ClientMetadata(
        redirect_uris=m.redirect_uris,
        post_logout_redirect_uris=m.post_logout_redirect_uris,
        grant_types=m.grant_types,
        response_types=m.responses,
        token_endpoint_auth_method=m.token_endpoint_auth_method,
        client_name=m.client_name,
        scope=scopes.parse(m.scope),
        require_pkce=m.require_pkce,
        pkce_methods=m.pkce_methods,
        dpop_bound_access_tokens=m.dpop_bound_access_tokens,
        require_pushed_authorization_requests=m.require_pushed_authorization_requests,
        jwks=m.jwks,
        jwks_uri=m.jwks_uri,
        token_endpoint_auth_signing_alg=m.token_endpoint_auth_signing_alg,
    )
    return MetadataResult(accepted, ())


__all__ = [
    "FIELDS",
    "METADATA_RULES",
    "ClientMetadata",
    "MetadataInput",
    "MetadataResult",
    "MetadataRule",
    "Problem",
    "check_client_metadata",
    "read_client_metadata",
]
