"""The authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3, OIDC Core §3.1.2.1) as a table of rules.

``validate_authorization_request`` takes the query parameters and the loaded client and returns a
validated :class:`AuthorizationRequest` plus the checks it ran, or raises :class:`Rejected`.
Whether a rejection may be redirected is decided by the error's ``allow_redirect`` together with
``ctx.redirect_uri``: until the client and redirect URI are known good, nothing is redirected.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from valetkey.core import pkce, redirect, resource_indicators, scopes
from valetkey.core.checks import Rule, run_rules
from valetkey.core.errors import (
    InvalidRedirectTarget,
    InvalidRequest,
    UnauthorizedClient,
    UnknownClient,
    UnsupportedResponseType,
)
from valetkey.core.events import Check
from valetkey.core.models import Client, Resource
from valetkey.core.records import fast_init

SINGLE_VALUED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "max_age",
    "response_mode",
    "dpop_jkt",
)


@fast_init
@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    response_type: str
    redirect_uri: str
    redirect_uri_given: bool
    scope: tuple[str, ...]
    audience: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    prompt: tuple[str, ...]
    max_age: int | None
    dpop_jkt: str | None = None  # RFC 9449 §10: the key the code exchange must prove

    @property
    def uses_fragment(self) -> bool:
        return self.response_type == "token"


@dataclass
class AuthorizeContext:
    params: Mapping[str, Sequence[str]]
    client: Client | None
    resources: tuple[Resource, ...]
    allow_deprecated_grants: bool = False
    redirect_uri: str | None = None
    redirect_uri_given: bool = False
    response_type: str = ""
    scope: tuple[str, ...] = ()
    audience: tuple[str, ...] = ()
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    prompt: tuple[str, ...] = ()
    max_age: int | None = None
    # The scopes of ``resources`` and OpenID, when the caller keeps them (the server does, per
    # reload of its resources); else worked out from ``resources`` by check_scope.
    known_scopes: frozenset[str] | None = None

    def one(self, name: str) -> str | None:
        values = self.params.get(name)
        if not values:
            return None
        return values[0]


def _client(ctx: AuthorizeContext) -> Client:
    assert ctx.client is not None  # check_client ran first
    return ctx.client


def check_client(ctx: AuthorizeContext) -> None:
    values = ctx.params.get("client_id") or []
    if not values or not values[0]:
        raise InvalidRedirectTarget("client_id is missing from the authorization request")
    if len(values) > 1:
        raise InvalidRedirectTarget("client_id is repeated; send it once (RFC 6749 §3.1)")
    if ctx.client is None:
        raise UnknownClient(
            "this client_id is not registered with the authorization server",
            detail=f"client_id={values[0][:64]!r}",
        )


def check_redirect_uri(ctx: AuthorizeContext) -> None:
    client = _client(ctx)
    values = ctx.params.get("redirect_uri") or []
    if len(values) > 1:
        raise InvalidRedirectTarget("redirect_uri is repeated; send it once (RFC 6749 §3.1)")
    if not values:
        if len(client.redirect_uris) == 1 and "*" not in client.redirect_uris[0]:
            ctx.redirect_uri = client.redirect_uris[0]
            return
        raise InvalidRedirectTarget(
            "redirect_uri is required because this client registered more than one (or none)"
        )
    requested = values[0]
    if redirect.find_match(requested, client.redirect_uris) is None:
        raise InvalidRedirectTarget(
            "redirect_uri does not match any URI registered for this client; matching is exact "
            "except for the port of a loopback IP literal",
            detail=f"redirect_uri={requested[:200]!r}",
        )
    ctx.redirect_uri = requested
    ctx.redirect_uri_given = True


def check_single_values(ctx: AuthorizeContext) -> None:
    if max(map(len, ctx.params.values()), default=0) <= 1:
        return  # nothing is repeated (the usual case: one look at each parameter)
    for name in SINGLE_VALUED:
        if len(ctx.params.get(name) or []) > 1:
            raise InvalidRequest(f"{name} is repeated; each parameter may appear only once")


def check_response_type(ctx: AuthorizeContext) -> None:
    response_type = ctx.one("response_type")
    if not response_type:
        raise InvalidRequest("response_type is missing; use response_type=code")
    if response_type not in ("code", "token"):
        raise UnsupportedResponseType(
            f"response_type {response_type[:40]!r} is not supported; use response_type=code"
        )
    ctx.response_type = response_type


def check_client_may_use_response_type(ctx: AuthorizeContext) -> None:
    client = _client(ctx)
    if ctx.response_type == "token":
        if not ctx.allow_deprecated_grants:
            raise UnsupportedResponseType(
                "the implicit grant (response_type=token) is disabled on this server; use the "
                "authorization code flow with PKCE",
                spec="RFC 9700 §2.1.2",
            )
        if "implicit" not in client.grant_types or "token" not in client.response_types:
            raise UnauthorizedClient(
                "this client is not registered for the implicit grant",
                spec="RFC 9700 §2.1.2",
            )
        return
    if "authorization_code" not in client.grant_types or "code" not in client.response_types:
        raise UnauthorizedClient("this client is not registered for the authorization_code grant")


def check_scope(ctx: AuthorizeContext) -> None:
    known = ctx.known_scopes
    if known is None:
        known = scopes.known_scopes(ctx.resources)
    ctx.scope = scopes.resolve(ctx.one("scope"), _client(ctx), known)
    ctx.audience = scopes.audience_for(ctx.scope, ctx.resources)


def check_resource(ctx: AuthorizeContext) -> None:
    """RFC 8707: the resources the token will be for (the scope's owners when none is named)."""
    names = resource_indicators.requested(ctx.params)
    given = bool(scopes.parse_or_empty(ctx.one("scope")))
    ctx.scope, ctx.audience = resource_indicators.for_authorization(
        names, ctx.scope, given, _client(ctx), ctx.resources
    )


def check_pkce(ctx: AuthorizeContext) -> None:
    client = _client(ctx)
    challenge = ctx.one("code_challenge")
    method = ctx.one("code_challenge_method")
    if ctx.response_type != "code":
        if challenge is not None:
            raise InvalidRequest("code_challenge is only meaningful with response_type=code")
        return
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method was sent without a code_challenge")
        # Registration (client_metadata_rules.check_public_client_pkce) makes every public client
        # require PKCE, except the `[demo] insecure = true` attack demo, which `valetkey serve`
        # refuses to run.
        if client.require_pkce:
            raise InvalidRequest(
                "code_challenge is required: this client must use PKCE with "
                f"code_challenge_method={client.pkce_methods[0] if client.pkce_methods else 'S256'}",
                spec="RFC 7636 §4.4.1, RFC 9700 §2.1.1",
            )
        return
    method = method or "plain"  # RFC 7636 §4.3: absent means plain
    if method not in pkce.METHODS:
        raise InvalidRequest(f"code_challenge_method {method[:20]!r} is not supported; use S256")
    if method not in client.pkce_methods:
        raise InvalidRequest(
            f"code_challenge_method {method} is not allowed for this client; use "
            + " or ".join(client.pkce_methods or ("S256",)),
            spec="RFC 7636 §4.4.1, RFC 9700 §2.1.1",
        )
    if not pkce.is_valid_challenge(challenge) or (method == "S256" and len(challenge) != 43):
        raise InvalidRequest(
            "code_challenge is malformed: S256 needs the 43-character BASE64URL of a SHA-256 "
            "digest; plain needs 43-128 unreserved characters",
            spec="RFC 7636 §4.2",
        )
    ctx.code_challenge = challenge
    ctx.code_challenge_method = method


def check_nonce(ctx: AuthorizeContext) -> None:
    if ctx.response_type == "token" and "openid" in ctx.scope and not ctx.one("nonce"):
        raise InvalidRequest("nonce is required for the implicit flow with openid")


_JKT = re.compile(r"[A-Za-z0-9_-]{43}")  # BASE64URL of a SHA-256 thumbprint (RFC 7638)


def check_dpop_jkt(ctx: AuthorizeContext) -> None:
    jkt = ctx.one("dpop_jkt")
    if jkt is None:
        return
    if ctx.response_type != "code":
        raise InvalidRequest("dpop_jkt binds an authorization code: use it with response_type=code")
    if not _JKT.fullmatch(jkt):
        raise InvalidRequest(
            "dpop_jkt must be the 43-character BASE64URL SHA-256 JWK thumbprint (RFC 7638) of "
            "the DPoP key"
        )


def check_prompt_and_max_age(ctx: AuthorizeContext) -> None:
    prompt = tuple((ctx.one("prompt") or "").split())
    unknown = [p for p in prompt if p not in ("none", "login", "consent", "select_account")]
    if unknown:
        raise InvalidRequest(f"prompt value {unknown[0][:20]!r} is not supported")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other prompt values")
    raw_max_age = ctx.one("max_age")
    if raw_max_age is not None:
        if not raw_max_age.isdigit() or len(raw_max_age) > 10:
            raise InvalidRequest("max_age must be a non-negative whole number of seconds")
        ctx.max_age = int(raw_max_age)
    ctx.prompt = prompt


def check_response_mode(ctx: AuthorizeContext) -> None:
    mode = ctx.one("response_mode")
    if mode is None:
        return
    expected = "fragment" if ctx.response_type == "token" else "query"
    if mode != expected:
        raise InvalidRequest(f"response_mode {mode[:20]!r} is not supported here; use {expected}")


AUTHORIZE_RULES: tuple[Rule[AuthorizeContext], ...] = (
    Rule("check_client", "RFC 6749 §4.1.2.1", check_client),
    Rule(
        "check_redirect_uri",
        "RFC 6749 §3.1.2.3, RFC 8252 §7.3, RFC 9700 §4.1.3",
        check_redirect_uri,
    ),
    Rule("check_single_values", "RFC 6749 §3.1", check_single_values),
    Rule("check_response_type", "RFC 6749 §3.1.1", check_response_type),
    Rule(
        "check_client_may_use_response_type",
        "RFC 6749 §4.1.2.1",
        check_client_may_use_response_type,
    ),
    Rule("check_response_mode", "OAuth 2.0 Multiple Response Types §2", check_response_mode),
    Rule("check_scope", "RFC 6749 §3.3", check_scope),
    Rule("check_resource", "RFC 8707 §2", check_resource),
    Rule("check_pkce", "RFC 7636 §4.4.1, RFC 9700 §2.1.1", check_pkce),
    Rule("check_nonce", "OIDC Core §3.2.2.1", check_nonce),
    Rule("check_dpop_jkt", "RFC 9449 §10", check_dpop_jkt),
    Rule("check_prompt_and_max_age", "OIDC Core §3.1.2.1", check_prompt_and_max_age),
)


def validate_authorization_request(
    ctx: AuthorizeContext,
) -> tuple[AuthorizationRequest, tuple[Check, ...]]:
    checks = run_rules(AUTHORIZE_RULES, ctx)
    assert ctx.client is not None and ctx.redirect_uri is not None
    request = AuthorizationRequest(
        client_id=ctx.client.client_id,
        response_type=ctx.response_type,
        redirect_uri=ctx.redirect_uri,
        redirect_uri_given=ctx.redirect_uri_given,
        scope=ctx.scope,
        audience=ctx.audience,
        state=ctx.one("state"),
        code_challenge=ctx.code_challenge,
        code_challenge_method=ctx.code_challenge_method,
        nonce=ctx.one("nonce"),
        prompt=ctx.prompt,
        max_age=ctx.max_age,
        dpop_jkt=ctx.one("dpop_jkt"),
    )
    return request, checks
