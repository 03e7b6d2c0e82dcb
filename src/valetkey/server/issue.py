"""Minting tokens: RFC 9068 JWT access tokens, opaque refresh tokens, and the token response."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from valetkey.core import jose, resource_indicators, scopes
from valetkey.core import secrets as vsecrets
from valetkey.core.models import AccessTokenRecord, Client, Grant, Issuance, RefreshToken, User
from valetkey.core.records import fast_init
from valetkey.core.secrets import new_token, ordered_id
from valetkey.core.token_format import AT_JWT_TYP
from valetkey.server.acting import acting_for
from valetkey.server.state import ServerState


@fast_init
@dataclass(frozen=True)
class Minted:
    """Secret values for the response, alongside the records the store keeps (digests only)."""

    issuance: Issuance
    access_token: str | None
    refresh_token: str | None
    extra: dict[str, Any]
    token_type: str = "Bearer"  # "DPoP" when the access token is bound to a key (RFC 9449 §5)


def audience_claim(state: ServerState, audience: tuple[str, ...]) -> str | list[str]:
    if not audience:
        return state.issuer  # only OpenID scopes: the audience is this server's userinfo
    return audience[0] if len(audience) == 1 else list(audience)


def mint_access_token(
    state: ServerState,
    *,
    client: Client,
    sub: str | None,
    scope: tuple[str, ...],
    audience: tuple[str, ...],
    grant_id: str | None,
    auth_time: float | None,
    now: float,
    jkt: str | None = None,
) -> tuple[str, AccessTokenRecord]:
    jti = ordered_id()
    ttl = state.settings.access_token_ttl
    claims: dict[str, Any] = {
        "iss": state.issuer,
        # RFC 9068 §2.2: with no resource owner, sub is the client's own identifier.
        "sub": sub if sub is not None else client.client_id,
        "aud": audience_claim(state, audience),
        "exp": int(now) + ttl,
        "iat": int(now),
        "jti": jti,
        "client_id": client.client_id,
        "scope": scopes.render(scope),
    }
    if auth_time is not None:
        claims["auth_time"] = int(auth_time)
    if jkt is not None:
        claims["cnf"] = {"jkt": jkt}  # RFC 9449 §6.1: bound to the key of the request's proof
    key = state.keys.active(state.settings.access_token_alg, now)
    token = jose.sign(claims, key, typ=AT_JWT_TYP)  # RFC 9068 §2.1
    record = AccessTokenRecord(
        jti=jti,
        grant_id=grant_id,
        client_id=client.client_id,
        sub=sub,
        scope=scope,
        audience=audience,
        issued_at=now,
        expires_at=now + ttl,
    )
    return token, record


def mint_refresh_token(
    state: ServerState,
    *,
    client: Client,
    grant_id: str,
    scope: tuple[str, ...],
    now: float,
    jkt: str | None = None,
) -> tuple[str, RefreshToken]:
    value = new_token(32)
    record = RefreshToken(
        token_digest=vsecrets.digest(value),
        grant_id=grant_id,
        client_id=client.client_id,
        scope=scope,
        issued_at=now,
        expires_at=now + state.settings.refresh_token_ttl,
        dpop_jkt=jkt,
    )
    return value, record


def mint_for_grant(
    state: ServerState,
    *,
    client: Client,
    grant: Grant,
    scope: tuple[str, ...],
    now: float,
    new_grant: bool = False,
    with_refresh: bool | None = None,
    audience: tuple[str, ...] | None = None,
    jkt: str | None = None,
) -> Minted:
    """Access token (and refresh token where the client may refresh) for a user grant.
    ``audience``: the access token's, when the request named resources (RFC 8707); else the
    grant's resources that own one of ``scope``. With ``jkt`` (a DPoP proof's key) the access
    token is bound to it, and a public client's refresh token too (RFC 9449 §5: a confidential
    client's is bound to its authentication already)."""
    if audience is None:
        audience = resource_indicators.for_token((), grant.audience, scope, state.resources)[1]
    access, access_record = mint_access_token(
        state,
        client=client,
        sub=grant.sub,
        scope=scope,
        audience=audience,
        grant_id=grant.grant_id,
        auth_time=grant.auth_time,
        now=now,
        jkt=jkt,
    )
    refresh = refresh_record = None
    if with_refresh is None:
        with_refresh = "refresh_token" in client.grant_types
    if with_refresh:
        refresh, refresh_record = mint_refresh_token(
            state,
            client=client,
            grant_id=grant.grant_id,
            scope=grant.scope,
            now=now,
            jkt=jkt if client.is_public else None,
        )
    issuance = Issuance(
        access=access_record, refresh=refresh_record, grant=grant if new_grant else None
    )
    return Minted(issuance, access, refresh, {}, "DPoP" if jkt else "Bearer")


def token_response(state: ServerState, minted: Minted, scope: tuple[str, ...]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": minted.access_token,
        "token_type": minted.token_type,
        "expires_in": state.settings.access_token_ttl,
        "scope": scopes.render(scope),
    }
    if minted.refresh_token:
        body["refresh_token"] = minted.refresh_token
    body.update(minted.extra)
    return body


def mint_redeemed(
    state: ServerState,
    seen: dict[str, Any],
    *,
    client: Client,
    grant: Grant,
    scope: tuple[str, ...],
    audience: tuple[str, ...],
    id_scope: tuple[str, ...],
    now: float,
    jkt: str | None,
    new_grant: bool = False,
    with_refresh: bool | None = None,
) -> Issuance:
    """The tokens of a grant redeemed inside the store's transaction (a code, a refresh token, a
    device code), noted in ``seen`` for the answer and its events: ``minted``, ``scope``, the user
    an ID token for ``id_scope`` speaks of (``user``) and whom the events name (``acting``), both
    read now, before the commit (``id_token_user``)."""
    minted = mint_for_grant(
        state,
        client=client,
        grant=grant,
        scope=scope,
        audience=audience,
        now=now,
        new_grant=new_grant,
        with_refresh=with_refresh,
        jkt=jkt,
    )
    seen["minted"], seen["scope"] = minted, scope
    seen["user"] = id_token_user(state, id_scope, grant.sub)
    seen["acting"] = acting_for(state, seen["user"] or grant.sub)
    return minted.issuance


def id_token_user(state: ServerState, scope: tuple[str, ...], sub: str | None) -> User | None:
    """The user an ID token will speak of, read inside the redemption's transaction: once that
    commits, nothing may touch the database, or an outage at that moment would answer 503 for a
    code (or refresh token) already spent."""
    if "openid" not in scope or not sub:
        return None
    return state.store.get_user(sub)


def grant_id_token(
    state: ServerState,
    client: Client,
    grant: Grant,
    user: User | None,
    scope: tuple[str, ...],
    minted: Minted,
    now: float,
) -> dict[str, Any]:
    """``{"id_token": ...}`` for the grant's user (read only when the scope has ``openid``), with
    no nonce: a refresh (OIDC Core §12.2) or a device code (no authorization request to carry one)."""
    if user is None:
        return {}
    from valetkey.server.oidc import id_token_for  # loaded on the first ID token, not at start

    auth_time = grant.auth_time or now
    token = id_token_for(state, client, user, scope, auth_time, None, minted.access_token, now)
    return {"id_token": token}
