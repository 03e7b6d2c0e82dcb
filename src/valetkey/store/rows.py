"""Mapping between table rows and the core's records."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from valetkey.core.models import (
    CLIENT_SECRET_BASIC,
    AccessTokenRecord,
    AuthorizationCode,
    Client,
    DeviceCode,
    Grant,
    NewDeviceCode,
    RefreshToken,
    User,
)


def split(value: str) -> tuple[str, ...]:
    return tuple(value.split()) if value else ()


# Space-separated, as the scope columns hold lists: a C call (no Python frame of its own).
join: Callable[[Iterable[str]], str] = " ".join


def client_from_row(row: Any) -> Client:
    m = row.metadata if isinstance(row.metadata, dict) else json.loads(row.metadata)
    return Client(
        client_id=row.client_id,
        client_name=row.client_name,
        secret_digest=row.secret_digest,
        redirect_uris=tuple(m.get("redirect_uris", ())),
        grant_types=tuple(m.get("grant_types", ())),
        response_types=tuple(m.get("response_types", ())),
        token_endpoint_auth_method=m.get("token_endpoint_auth_method", CLIENT_SECRET_BASIC),
        scope=tuple(m.get("scope", ())),
        require_pkce=bool(m.get("require_pkce", True)),
        pkce_methods=tuple(m.get("pkce_methods", ("S256",))),
        post_logout_redirect_uris=tuple(m.get("post_logout_redirect_uris", ())),
        dpop_bound_access_tokens=bool(m.get("dpop_bound_access_tokens", False)),
        require_pushed_authorization_requests=bool(
            m.get("require_pushed_authorization_requests", False)
        ),
        jwks=m.get("jwks"),
        jwks_uri=m.get("jwks_uri"),
        token_endpoint_auth_signing_alg=m.get("token_endpoint_auth_signing_alg"),
        secret_sealed=row.secret_sealed,
    )


def client_metadata(c: Client) -> dict[str, Any]:
    return {
        "redirect_uris": list(c.redirect_uris),
        "grant_types": list(c.grant_types),
        "response_types": list(c.response_types),
        "token_endpoint_auth_method": c.token_endpoint_auth_method,
        "scope": list(c.scope),
        "require_pkce": c.require_pkce,
        "pkce_methods": list(c.pkce_methods),
        "post_logout_redirect_uris": list(c.post_logout_redirect_uris),
        "dpop_bound_access_tokens": c.dpop_bound_access_tokens,
        "require_pushed_authorization_requests": c.require_pushed_authorization_requests,
        **{k: v for k, v in _key_metadata(c).items() if v is not None},
    }


def _key_metadata(c: Client) -> dict[str, Any]:
    jwks = json.loads(json.dumps(c.jwks)) if c.jwks is not None else None  # plain JSON values
    return {
        "jwks": jwks,
        "jwks_uri": c.jwks_uri,
        "token_endpoint_auth_signing_alg": c.token_endpoint_auth_signing_alg,
    }


def user_from_row(row: Any) -> User:
    claims = row.claims if isinstance(row.claims, dict) else json.loads(row.claims)
    return User(sub=row.sub, username=row.username, password_hash=row.password_hash, claims=claims)


def code_from_row(row: Any) -> AuthorizationCode:
    # By position, in the record's field order (test_row_values checks it): a call with more than
    # 15 keywords passes them in a dict built key by key.
    return AuthorizationCode(
        row.code_digest,
        row.client_id,
        row.redirect_uri,
        row.sub,
        split(row.scope),
        split(row.audience),
        row.code_challenge,
        row.code_challenge_method,
        row.grant_id,
        row.flow_id,
        row.issued_at,
        row.expires_at,
        row.auth_time,
        row.nonce,
        bool(row.redirect_uri_given),
        row.consumed_at,
        row.dpop_jkt,
    )


def grant_from_row(row: Any) -> Grant:
    return Grant(
        grant_id=row.grant_id,
        client_id=row.client_id,
        sub=row.sub,
        scope=split(row.scope),
        audience=split(row.audience),
        created_at=row.created_at,
        flow_id=row.flow_id,
        auth_time=row.auth_time,
        nonce=row.nonce,
        revoked_at=row.revoked_at,
        revoked_reason=row.revoked_reason,
    )


def refresh_from_row(row: Any) -> RefreshToken:
    return RefreshToken(
        token_digest=row.token_digest,
        grant_id=row.grant_id,
        client_id=row.client_id,
        scope=split(row.scope),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        used_at=row.used_at,
        revoked_at=row.revoked_at,
        dpop_jkt=row.dpop_jkt,
    )


def access_from_row(row: Any) -> AccessTokenRecord:
    return AccessTokenRecord(
        jti=row.jti,
        grant_id=row.grant_id,
        client_id=row.client_id,
        sub=row.sub,
        scope=split(row.scope),
        audience=split(row.audience),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def device_from_row(row: Any) -> DeviceCode:
    return DeviceCode(
        device_code_digest=row.device_code_digest,
        user_code=row.user_code_digest,
        client_id=row.client_id,
        scope=split(row.scope),
        audience=split(row.audience),
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        flow_id=row.flow_id,
        sub=row.sub,
        grant_id=row.grant_id,
        auth_time=row.auth_time,
        denied_at=row.denied_at,
        consumed_at=row.consumed_at,
    )


# The values of a new row, as its INSERT (``statements.Insert``) binds them: a tuple in the table's
# column order (``columns``) without the columns set later. (A tuple: no dict built, then read
# back in placeholder order, per row.)
def grant_values(g: Grant) -> tuple[Any, ...]:
    """The values of ``INSERT_GRANT``."""
    return (
        g.grant_id,
        g.client_id,
        g.sub,
        join(g.scope),
        join(g.audience),
        g.created_at,
        g.flow_id,
        g.auth_time,
        g.nonce,
    )


def code_values(c: AuthorizationCode) -> tuple[Any, ...]:
    """The values of ``INSERT_CODE``."""
    return (
        c.code_digest,
        c.grant_id,
        c.client_id,
        c.redirect_uri,
        c.redirect_uri_given,
        c.sub,
        join(c.scope),
        join(c.audience),
        c.code_challenge,
        c.code_challenge_method,
        c.flow_id,
        c.issued_at,
        c.expires_at,
        c.auth_time,
        c.nonce,
        c.dpop_jkt,
    )


def access_values(a: AccessTokenRecord) -> tuple[Any, ...]:
    """The values of ``INSERT_ACCESS``."""
    return (
        a.jti,
        a.grant_id,
        a.client_id,
        a.sub,
        join(a.scope),
        join(a.audience),
        a.issued_at,
        a.expires_at,
    )


def refresh_values(r: RefreshToken) -> tuple[Any, ...]:
    """The values of ``INSERT_REFRESH``."""
    return (
        r.token_digest,
        r.grant_id,
        r.client_id,
        join(r.scope),
        r.issued_at,
        r.expires_at,
        r.dpop_jkt,
    )


def device_code_values(row: NewDeviceCode) -> dict[str, Any]:
    """The parameters of ``INSERT_DEVICE_CODE`` (its columns are not all named as the record's
    fields)."""
    c = row.code
    return {
        "device_code_digest": c.device_code_digest,
        "user_code_digest": c.user_code,
        "client_id": c.client_id,
        "scope": join(c.scope),
        "audience": join(c.audience),
        "flow_id": c.flow_id,
        "issued_at": c.issued_at,
        "expires_at": c.expires_at,
        "poll_interval": row.interval,
    }
