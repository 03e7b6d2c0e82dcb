"""The rules a client's metadata must follow (RFC 7591 §2 and the specs it points to), one table.

Each rule is a small function over typed :class:`MetadataInput` that names every problem it finds as
``(field path, message)``; ``core.client_metadata`` reads the metadata and runs the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from valetkey.core import pkce, redirect, scopes
from valetkey.core.models import (
    AUTH_METHODS,
    CLIENT_SECRET_BASIC,
    GRANT_TYPES,
    PUBLIC_AUTH,
    RESPONSE_TYPES,
)

# RFC 7591 §2.1: each redirect-based grant type comes with its response type.
_RESPONSE_FOR = (("authorization_code", "code"), ("implicit", "token"))


@dataclass(frozen=True)
class MetadataInput:
    """The metadata with RFC 7591 §2's types and valetkey's defaults, not yet judged."""

    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    grant_types: tuple[str, ...] = ("authorization_code",)
    response_types: tuple[str, ...] | None = None  # None: the ones the grant types imply
    token_endpoint_auth_method: str = CLIENT_SECRET_BASIC
    client_name: str | None = None
    scope: str = ""
    require_pkce: bool = True
    pkce_methods: tuple[str, ...] = ("S256",)
    dpop_bound_access_tokens: bool = False  # RFC 9449 §5.2: every token request needs a proof
    require_pushed_authorization_requests: bool = False  # RFC 9126 §6
    jwks: Mapping[str, Any] | None = None  # private_key_jwt (core.client_metadata_keys)
    jwks_uri: str | None = None
    token_endpoint_auth_signing_alg: str | None = None
    insecure_demo: bool = False  # the attack demo's public clients without PKCE (never served)

    @property
    def public(self) -> bool:
        return self.token_endpoint_auth_method == PUBLIC_AUTH

    @property
    def responses(self) -> tuple[str, ...]:
        if self.response_types is not None:
            return self.response_types
        return tuple(rt for g, rt in _RESPONSE_FOR if g in self.grant_types)


Found = Iterator[tuple[str, str]]  # (field path, message)


@dataclass(frozen=True)
class MetadataRule:
    name: str
    spec: str
    find: Callable[[MetadataInput], Found]


def _uris(field: str, uris: tuple[str, ...]) -> Found:
    for i, uri in enumerate(uris):
        why = redirect.registration_problem(uri)
        if why:
            yield f"{field}[{i}]", f"{uri!r} {why}"


def check_redirect_uris(m: MetadataInput) -> Found:
    yield from _uris("redirect_uris", m.redirect_uris)


def check_post_logout_redirect_uris(m: MetadataInput) -> Found:
    yield from _uris("post_logout_redirect_uris", m.post_logout_redirect_uris)


def check_grant_types_known(m: MetadataInput) -> Found:
    for g in m.grant_types:
        if g not in GRANT_TYPES:
            yield "grant_types", f"unknown grant type {g!r}; known: {', '.join(GRANT_TYPES)}"


def check_response_types_known(m: MetadataInput) -> Found:
    for rt in m.responses:
        if rt not in RESPONSE_TYPES:
            yield "response_types", f"unknown response type {rt!r}; known: code, token"


def check_grant_and_response_types_agree(m: MetadataInput) -> Found:
    for grant, response in _RESPONSE_FOR:
        if (grant in m.grant_types) != (response in m.responses):
            yield (
                "response_types",
                f'response type "{response}" goes with grant type "{grant}" (RFC 7591 §2.1)',
            )


def check_redirect_uri_registered(m: MetadataInput) -> Found:
    if not m.redirect_uris and any(g in m.grant_types for g, _ in _RESPONSE_FOR):
        yield (
            "redirect_uris",
            "a client using a redirect-based grant needs at least one redirect URI",
        )


def check_client_credentials_confidential(m: MetadataInput) -> Found:
    if m.public and "client_credentials" in m.grant_types:
        yield "grant_types", "client_credentials needs a confidential client (one with a secret)"


def check_password_confidential(m: MetadataInput) -> Found:
    if m.public and "password" in m.grant_types:
        yield "grant_types", "the password grant is allowed only for confidential clients"


def check_public_client_pkce(m: MetadataInput) -> Found:
    if not m.require_pkce and m.public and not m.insecure_demo:
        yield (
            "require_pkce",
            "only a confidential client may turn PKCE off; public clients always use it (RFC 9700 §2.1.1)",
        )


def check_pkce_methods(m: MetadataInput) -> Found:
    for method in m.pkce_methods:
        if method not in pkce.METHODS:
            yield "pkce_methods", f"unknown method {method!r}; use S256 (or plain)"
    if not m.pkce_methods:
        yield "pkce_methods", 'must list at least one method, normally ["S256"]'


def check_dpop_bound_grants(m: MetadataInput) -> Found:
    if m.dpop_bound_access_tokens and "implicit" in m.grant_types:
        yield (
            "dpop_bound_access_tokens",
            "the implicit grant issues tokens at the authorization endpoint, where no DPoP proof "
            "is sent; remove implicit from grant_types",
        )


def check_scope(m: MetadataInput) -> Found:
    try:
        scopes.parse(m.scope)
    except ValueError as exc:
        yield "scope", str(exc)


def check_auth_method(m: MetadataInput) -> Found:
    if m.token_endpoint_auth_method not in AUTH_METHODS:
        yield (
            "token_endpoint_auth_method",
            f"must be one of {', '.join(AUTH_METHODS)}, got {m.token_endpoint_auth_method!r}",
        )


METADATA_RULES: tuple[MetadataRule, ...] = (
    MetadataRule("check_auth_method", "RFC 7591 §2, RFC 6749 §2.3", check_auth_method),
    MetadataRule(
        "check_redirect_uris",
        "RFC 6749 §3.1.2, RFC 8252 §7.1-§7.3, RFC 9700 §2.6, §4.1",
        check_redirect_uris,
    ),
    MetadataRule(
        "check_post_logout_redirect_uris",
        "OpenID Connect RP-Initiated Logout §3.1, RFC 6749 §3.1.2",
        check_post_logout_redirect_uris,
    ),
    MetadataRule("check_grant_types_known", "RFC 7591 §2", check_grant_types_known),
    MetadataRule("check_response_types_known", "RFC 7591 §2", check_response_types_known),
    MetadataRule(
        "check_grant_and_response_types_agree",
        "RFC 7591 §2.1",
        check_grant_and_response_types_agree,
    ),
    MetadataRule(
        "check_redirect_uri_registered",
        "RFC 6749 §3.1.2.2, RFC 9700 §2.1",
        check_redirect_uri_registered,
    ),
    MetadataRule(
        "check_client_credentials_confidential",
        "RFC 6749 §2.1, §4.4",
        check_client_credentials_confidential,
    ),
    MetadataRule(
        "check_password_confidential", "RFC 6749 §4.3, RFC 9700 §2.4", check_password_confidential
    ),
    MetadataRule(
        "check_public_client_pkce", "RFC 9700 §2.1.1, RFC 8252 §8.1", check_public_client_pkce
    ),
    MetadataRule("check_pkce_methods", "RFC 7636 §4.2, §4.3", check_pkce_methods),
    MetadataRule("check_scope", "RFC 7591 §2, RFC 6749 §3.3", check_scope),
    MetadataRule("check_dpop_bound_grants", "RFC 9449 §5.2", check_dpop_bound_grants),
)
