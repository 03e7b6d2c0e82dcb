"""Client metadata rules (RFC 7591 §2), shared by the config file and the admin CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from valetkey.core import pkce, redirect, scopes
from valetkey.core.models import GRANT_TYPES, RESPONSE_TYPES


@dataclass
class ClientCheck:
    problems: list[tuple[str, str]]
    value: dict[str, Any] | None


def client_problems(
    *,
    redirect_uris: tuple[str, ...],
    grant_types: tuple[str, ...],
    response_types: tuple[str, ...] | None,
    public: bool,
    require_pkce: Any,
    pkce_methods: tuple[str, ...],
    scope: Any,
    post_logout_redirect_uris: tuple[str, ...] = (),
    insecure_demo: bool = False,
) -> ClientCheck:
    """Client metadata rules shared by the config file and the admin CLI (RFC 7591 §2)."""
    problems: list[tuple[str, str]] = []
    for i, uri in enumerate(redirect_uris):
        why = redirect.registration_problem(uri)
        if why:
            problems.append((f"redirect_uris[{i}]", f"{uri!r} {why}"))
    for i, uri in enumerate(post_logout_redirect_uris):
        why = redirect.registration_problem(uri)
        if why:
            problems.append((f"post_logout_redirect_uris[{i}]", f"{uri!r} {why}"))
    for g in grant_types:
        if g not in GRANT_TYPES:
            problems.append(
                ("grant_types", f"unknown grant type {g!r}; known: {', '.join(GRANT_TYPES)}")
            )
    if response_types is None:
        response_types = tuple(
            rt
            for g, rt in (("authorization_code", "code"), ("implicit", "token"))
            if g in grant_types
        )
    for rt in response_types:
        if rt not in RESPONSE_TYPES:
            problems.append(("response_types", f"unknown response type {rt!r}; known: code, token"))
    if ("authorization_code" in grant_types) != ("code" in response_types):
        problems.append(
            (
                "response_types",
                'response type "code" goes with grant type "authorization_code" (RFC 7591 §2.1)',
            )
        )
    if ("implicit" in grant_types) != ("token" in response_types):
        problems.append(
            (
                "response_types",
                'response type "token" goes with grant type "implicit" (RFC 7591 §2.1)',
            )
        )
    if ("authorization_code" in grant_types or "implicit" in grant_types) and not redirect_uris:
        problems.append(
            (
                "redirect_uris",
                "a client using a redirect-based grant needs at least one redirect URI",
            )
        )
    if public and "client_credentials" in grant_types:
        problems.append(
            ("grant_types", "client_credentials needs a confidential client (one with a secret)")
        )
    if public and "password" in grant_types:
        problems.append(
            ("grant_types", "the password grant is allowed only for confidential clients")
        )
    if not isinstance(require_pkce, bool):
        problems.append(("require_pkce", "must be true or false"))
    elif not require_pkce and public and not insecure_demo:
        problems.append(
            (
                "require_pkce",
                "only a confidential client may turn PKCE off; public clients always use it (RFC 9700 §2.1.1)",
            )
        )
    for m in pkce_methods:
        if m not in pkce.METHODS:
            problems.append(("pkce_methods", f"unknown method {m!r}; use S256 (or plain)"))
    if not pkce_methods:
        problems.append(("pkce_methods", 'must list at least one method, normally ["S256"]'))
    parsed_scope: tuple[str, ...] = ()
    if isinstance(scope, list):
        scope = " ".join(str(s) for s in scope)
    if not isinstance(scope, str):
        problems.append(("scope", "must be a space-separated string"))
    else:
        try:
            parsed_scope = scopes.parse(scope)
        except ValueError as exc:
            problems.append(("scope", str(exc)))
    if problems:
        return ClientCheck(problems, None)
    return ClientCheck(
        [],
        {
            "redirect_uris": redirect_uris,
            "grant_types": grant_types,
            "response_types": response_types,
            "scope": parsed_scope,
            "require_pkce": bool(require_pkce),
            "pkce_methods": pkce_methods,
            "post_logout_redirect_uris": post_logout_redirect_uris,
        },
    )
