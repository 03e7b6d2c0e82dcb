"""Token endpoint decisions (RFC 6749 §4.1.3, §4.4, §6; RFC 7636 §4.6; RFC 9700 §4.14).

Each ``decide_*`` takes the request parameters and the records the server loaded and returns the
checks it ran, or raises :class:`Rejected`; a replayed code or a reused refresh token raises
:class:`~valetkey.core.revocation.Refused`, which names the grant to revoke. The server persists
the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from valetkey.core import pkce, resource_indicators, scopes
from valetkey.core.checks import Rule, run_rules
from valetkey.core.errors import InvalidGrant, InvalidRequest, InvalidScope, UnauthorizedClient
from valetkey.core.events import Check
from valetkey.core.models import AuthorizationCode, Client, Grant, RefreshToken, Resource
from valetkey.core.revocation import Replay, Reuse, Revocation, run_revoking_rules
from valetkey.core.secrets import equal


def one(params: Mapping[str, Sequence[str]], name: str) -> str | None:
    values = params.get(name)
    if not values:
        return None
    if len(values) > 1:
        raise InvalidRequest(
            f"{name} is repeated; each parameter may appear only once (RFC 6749 §3.2)"
        )
    return values[0]


def require(params: Mapping[str, Sequence[str]], name: str) -> str:
    value = one(params, name)
    if not value:
        raise InvalidRequest(f"{name} is required for this grant")
    return value


def client_may_use_grant(client: Client, grant_type: str) -> None:
    if grant_type not in client.grant_types:
        raise UnauthorizedClient(f"this client is not registered for the {grant_type} grant")


@dataclass
class CodeContext:
    params: Mapping[str, Sequence[str]]
    client: Client
    code: AuthorizationCode | None
    now: float
    replayed: bool = False  # the store's word: the code exists and was consumed before
    revoke: Revocation | None = None
    resources: tuple[Resource, ...] = ()
    scope: tuple[str, ...] = ()  # the access token's, once the rules ran
    audience: tuple[str, ...] = ()
    dpop_jkt: str | None = None  # the thumbprint of the key of this request's verified DPoP proof


def check_code_grant_allowed(ctx: CodeContext) -> None:
    client_may_use_grant(ctx.client, "authorization_code")


def check_code_known(ctx: CodeContext) -> None:
    require(ctx.params, "code")
    if ctx.code is None:
        raise InvalidGrant("the authorization code is not valid: unknown, expired or already used")


def check_code_unused(ctx: CodeContext) -> None:
    assert ctx.code is not None
    if ctx.replayed:
        ctx.revoke = Replay(ctx.code.grant_id)  # RFC 6749 §4.1.2: SHOULD revoke what it issued
        raise InvalidGrant(
            "the authorization code was already used; every token issued from it is now revoked",
            detail="authorization code replay",
        )


def check_code_client(ctx: CodeContext) -> None:
    assert ctx.code is not None
    if ctx.code.client_id != ctx.client.client_id:
        raise InvalidGrant(
            "the authorization code was issued to another client",
            detail=f"code client={ctx.code.client_id!r}",
        )


def check_code_expiry(ctx: CodeContext) -> None:
    assert ctx.code is not None
    if ctx.now >= ctx.code.expires_at:
        raise InvalidGrant(
            "the authorization code has expired; codes are short-lived, start the flow again",
            detail=f"expired {ctx.now - ctx.code.expires_at:.0f}s ago",
        )


def check_code_redirect_uri(ctx: CodeContext) -> None:
    assert ctx.code is not None
    sent = one(ctx.params, "redirect_uri")
    if sent is None:
        if ctx.code.redirect_uri_given:
            raise InvalidGrant("redirect_uri is required: the authorization request included one")
        return
    if sent != ctx.code.redirect_uri:
        raise InvalidGrant(
            "redirect_uri differs from the one in the authorization request",
        )


def check_code_verifier(ctx: CodeContext) -> None:
    assert ctx.code is not None
    verifier = one(ctx.params, "code_verifier")
    if ctx.code.code_challenge is None:
        if verifier is not None:
            # RFC 9700 §2.1.1: a verifier without a challenge is a PKCE downgrade attempt.
            raise InvalidGrant(
                "code_verifier was sent but the authorization request had no code_challenge",
            )
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required: the authorization request used PKCE")
    if not pkce.is_valid_verifier(verifier):
        raise InvalidGrant(
            "code_verifier is malformed: it must be 43-128 characters of A-Z a-z 0-9 - . _ ~",
            spec="RFC 7636 §4.1",
        )
    method = ctx.code.code_challenge_method or "plain"
    if not pkce.verify(verifier, ctx.code.code_challenge, method):
        raise InvalidGrant(
            f"code_verifier does not match the code_challenge ({method}) sent with the "
            "authorization request",
        )


def check_code_resource(ctx: CodeContext) -> None:
    assert ctx.code is not None
    ctx.scope, ctx.audience = resource_indicators.for_token(
        resource_indicators.requested(ctx.params), ctx.code.audience, ctx.code.scope, ctx.resources
    )


def bound_key_proven(bound: str | None, proven: str | None, what: str) -> None:
    """RFC 9449 §5, §10: a code or refresh token bound to a DPoP key is redeemed only with a proof
    signed by that key (the proof itself was checked before: ``core.dpop.verify_proof``)."""
    if bound is None:
        return
    if proven is None:
        raise InvalidGrant(
            f"the {what} is bound to a DPoP key: send a DPoP proof signed by that key",
            detail="no DPoP proof",
        )
    if not equal(bound, proven):
        raise InvalidGrant(
            f"the {what} is bound to another DPoP key than the one that signed this proof",
            detail=f"bound to {bound[:12]}…, proof key {proven[:12]}…",
        )


def check_code_dpop_binding(ctx: CodeContext) -> None:
    assert ctx.code is not None
    bound_key_proven(ctx.code.dpop_jkt, ctx.dpop_jkt, "authorization code")


CODE_RULES: tuple[Rule[CodeContext], ...] = (
    Rule("check_grant_allowed", "RFC 6749 §5.2 unauthorized_client", check_code_grant_allowed),
    Rule("check_code_known", "RFC 6749 §4.1.3", check_code_known),
    # Who presents the code comes before whether it was used: only a request that would have
    # redeemed it (its client, redirect URI and verifier) counts as a replay and revokes what the
    # code issued. A stranger holding a leaked code gets invalid_grant and ends nothing.
    Rule("check_code_client", "RFC 6749 §4.1.3", check_code_client),
    Rule("check_code_redirect_uri", "RFC 6749 §4.1.3", check_code_redirect_uri),
    Rule("check_code_verifier", "RFC 7636 §4.6, RFC 9700 §2.1.1", check_code_verifier),
    Rule("check_code_dpop_binding", "RFC 9449 §10", check_code_dpop_binding),
    Rule("check_code_unused", "RFC 6749 §4.1.2, RFC 9700 §4.2.4", check_code_unused),
    Rule("check_code_expiry", "RFC 6749 §4.1.2", check_code_expiry),
    Rule("check_resource", "RFC 8707 §2.2", check_code_resource),
)


def decide_authorization_code(ctx: CodeContext) -> tuple[Check, ...]:
    return run_revoking_rules(CODE_RULES, ctx)


@dataclass
class RefreshContext:
    params: Mapping[str, Sequence[str]]
    client: Client
    token: RefreshToken | None
    grant: Grant | None
    now: float
    reused: bool = False  # the store's word: the token exists and was rotated before
    scope: tuple[str, ...] = ()
    revoke: Revocation | None = None
    resources: tuple[Resource, ...] = ()
    audience: tuple[str, ...] = ()
    dpop_jkt: str | None = None  # the thumbprint of the key of this request's verified DPoP proof


def check_refresh_grant_allowed(ctx: RefreshContext) -> None:
    client_may_use_grant(ctx.client, "refresh_token")


def check_refresh_known(ctx: RefreshContext) -> None:
    require(ctx.params, "refresh_token")
    if ctx.token is None or ctx.grant is None:
        raise InvalidGrant("the refresh token is not valid: unknown, expired or revoked")


def check_refresh_client(ctx: RefreshContext) -> None:
    assert ctx.token is not None
    if ctx.token.client_id != ctx.client.client_id:
        raise InvalidGrant("the refresh token was issued to another client")


def check_refresh_dpop_binding(ctx: RefreshContext) -> None:
    assert ctx.token is not None
    bound_key_proven(ctx.token.dpop_jkt, ctx.dpop_jkt, "refresh token")


def check_refresh_not_reused(ctx: RefreshContext) -> None:
    assert ctx.token is not None
    if ctx.reused:
        ctx.revoke = Reuse(ctx.token.grant_id)  # RFC 9700 §4.14.2: reuse revokes the grant
        raise InvalidGrant(
            "the refresh token was already used; refresh tokens rotate on every use, and reuse "
            "revokes the whole grant",
            detail="refresh token reuse detected",
        )


def check_refresh_active(ctx: RefreshContext) -> None:
    assert ctx.token is not None and ctx.grant is not None
    if ctx.grant.revoked_at is not None or ctx.token.revoked_at is not None:
        raise InvalidGrant("the refresh token was revoked")
    if ctx.now >= ctx.token.expires_at:
        raise InvalidGrant("the refresh token has expired; start a new authorization")


def check_refresh_scope(ctx: RefreshContext) -> None:
    assert ctx.token is not None
    try:
        requested = scopes.parse(one(ctx.params, "scope"))
    except ValueError as exc:
        raise InvalidScope(str(exc)) from exc
    if not requested:
        ctx.scope = ctx.token.scope
        return
    wider = [s for s in requested if s not in ctx.token.scope]
    if wider:
        raise InvalidScope(
            f"a refresh can only narrow the scope; not originally granted: {' '.join(wider)[:200]}",
        )
    ctx.scope = requested


def check_refresh_resource(ctx: RefreshContext) -> None:
    assert ctx.grant is not None
    ctx.scope, ctx.audience = resource_indicators.for_token(
        resource_indicators.requested(ctx.params), ctx.grant.audience, ctx.scope, ctx.resources
    )


REFRESH_RULES: tuple[Rule[RefreshContext], ...] = (
    Rule("check_grant_allowed", "RFC 6749 §5.2 unauthorized_client", check_refresh_grant_allowed),
    Rule("check_refresh_known", "RFC 6749 §6", check_refresh_known),
    Rule("check_refresh_client", "RFC 6749 §6", check_refresh_client),
    # Before reuse: a stolen bound refresh token without its key neither refreshes nor revokes.
    Rule("check_refresh_dpop_binding", "RFC 9449 §5", check_refresh_dpop_binding),
    Rule("check_refresh_not_reused", "RFC 9700 §4.14.2", check_refresh_not_reused),
    Rule("check_refresh_active", "RFC 6749 §6", check_refresh_active),
    Rule("check_refresh_scope", "RFC 6749 §6", check_refresh_scope),
    Rule("check_resource", "RFC 8707 §2.2", check_refresh_resource),
)


def decide_refresh(ctx: RefreshContext) -> tuple[Check, ...]:
    return run_revoking_rules(REFRESH_RULES, ctx)


@dataclass
class ClientCredentialsContext:
    params: Mapping[str, Sequence[str]]
    client: Client
    known_scopes: frozenset[str]
    scope: tuple[str, ...] = ()
    resources: tuple[Resource, ...] = ()
    audience: tuple[str, ...] = ()
    scope_given: bool = False  # the request named a scope (check_scope), else the default applies


def check_cc_confidential(ctx: ClientCredentialsContext) -> None:
    if ctx.client.is_public:
        raise UnauthorizedClient("the client_credentials grant is only for confidential clients")


def check_cc_grant_allowed(ctx: ClientCredentialsContext) -> None:
    client_may_use_grant(ctx.client, "client_credentials")


def check_cc_scope(ctx: ClientCredentialsContext) -> None:
    raw = one(ctx.params, "scope")
    asked = scopes.parse_or_empty(raw)
    user_scopes = [s for s in asked if s in scopes.OIDC_SCOPES]
    if user_scopes:
        raise InvalidScope(f"{' '.join(user_scopes)} needs a user; client_credentials has none")
    ctx.scope = scopes.resolve(
        raw, ctx.client, ctx.known_scopes, default_excludes=scopes.OIDC_SCOPES
    )
    ctx.scope_given = bool(asked)


def check_cc_resource(ctx: ClientCredentialsContext) -> None:
    ctx.scope, ctx.audience = resource_indicators.for_authorization(
        resource_indicators.requested(ctx.params),
        ctx.scope,
        ctx.scope_given,
        ctx.client,
        ctx.resources,
    )


CLIENT_CREDENTIALS_RULES: tuple[Rule[ClientCredentialsContext], ...] = (
    Rule("check_confidential_client", "RFC 6749 §4.4", check_cc_confidential),
    Rule("check_grant_allowed", "RFC 6749 §5.2 unauthorized_client", check_cc_grant_allowed),
    Rule("check_scope", "RFC 6749 §3.3", check_cc_scope),
    Rule("check_resource", "RFC 8707 §2", check_cc_resource),
)


def decide_client_credentials(ctx: ClientCredentialsContext) -> tuple[Check, ...]:
    return run_rules(CLIENT_CREDENTIALS_RULES, ctx)


@dataclass
class PasswordContext:
    params: Mapping[str, Sequence[str]]
    client: Client
    known_scopes: frozenset[str]
    scope: tuple[str, ...] = ()


def check_password_client(ctx: PasswordContext) -> None:
    if ctx.client.is_public:
        raise UnauthorizedClient("the password grant is allowed only for confidential clients")
    client_may_use_grant(ctx.client, "password")


def check_password_params(ctx: PasswordContext) -> None:
    require(ctx.params, "username")
    if one(ctx.params, "password") is None:
        raise InvalidRequest("password is required for the password grant")


def check_password_scope(ctx: PasswordContext) -> None:
    ctx.scope = scopes.resolve(one(ctx.params, "scope"), ctx.client, ctx.known_scopes)


PASSWORD_RULES: tuple[Rule[PasswordContext], ...] = (
    Rule("check_password_client", "RFC 6749 §4.3, RFC 9700 §2.4", check_password_client),
    Rule("check_password_params", "RFC 6749 §4.3.2", check_password_params),
    Rule("check_scope", "RFC 6749 §3.3", check_password_scope),
)


def decide_password(ctx: PasswordContext) -> tuple[Check, ...]:
    """Only the request's shape; the server then checks the user's credentials."""
    return run_rules(PASSWORD_RULES, ctx)
