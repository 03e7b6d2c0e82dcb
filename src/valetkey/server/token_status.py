"""Finding a presented token and deciding whether it is still good (shared by /revoke, /introspect,
/userinfo).

Access tokens are JWTs verified with this server's own published keys, then matched to their
``access_tokens`` record by ``jti``; refresh tokens are found by their SHA-256 digest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from valetkey.core import jose
from valetkey.core import secrets as vsecrets
from valetkey.core.models import AccessTokenRecord, Grant, RefreshToken
from valetkey.core.token_format import is_access_token_typ, within_length
from valetkey.server.state import ServerState


@dataclass(frozen=True)
class FoundAccess:
    record: AccessTokenRecord
    claims: dict[str, Any]
    grant: Grant | None


@dataclass(frozen=True)
class FoundRefresh:
    record: RefreshToken
    grant: Grant | None


def find_access_token(state: ServerState, token: str) -> FoundAccess | None:
    """A JWT access token this server signed (with a key it still publishes) and still has on record."""
    if not within_length(token) or token.count(".") != 2:
        return None
    try:
        header, claims = jose.verify(token, state.keys.verify_keys(state.clock.now()))
    except jose.TokenInvalid:
        return None
    # RFC 9068 §4: an access token is typed at+jwt, so an ID token is never taken for one.
    if not is_access_token_typ(header.get("typ")):
        return None
    jti = claims.get("jti")
    if claims.get("iss") != state.issuer or not isinstance(jti, str):
        return None
    record = state.store.get_access_token(jti)
    if record is None or not state.has_client(record.client_id):
        return None  # unknown, purged, or its client was removed
    grant = state.store.get_grant(record.grant_id) if record.grant_id else None
    return FoundAccess(record, claims, grant)


def find_refresh_token(state: ServerState, token: str) -> FoundRefresh | None:
    if not within_length(token):
        return None
    record = state.store.get_refresh_token(vsecrets.digest(token))
    if record is None or not state.has_client(record.client_id):
        return None
    return FoundRefresh(record, state.store.get_grant(record.grant_id))


def find_token(
    state: ServerState, token: str, hint: str | None
) -> FoundAccess | FoundRefresh | None:
    """RFC 7009 §2.1 / RFC 7662 §2.1: the hint orders the search; it never limits it."""
    finders = (
        (find_refresh_token, find_access_token)
        if hint == "refresh_token"
        else (find_access_token, find_refresh_token)
    )
    for finder in finders:
        found = finder(state, token)
        if found is not None:
            return found
    return None


def access_active(found: FoundAccess, now: float) -> bool:
    r, g = found.record, found.grant
    if r.revoked_at is not None or now >= r.expires_at:
        return False
    exp = found.claims.get("exp")
    if not isinstance(exp, int | float) or now >= exp:
        return False
    return r.grant_id is None or (g is not None and g.revoked_at is None)


def refresh_active(found: FoundRefresh, now: float) -> bool:
    r, g = found.record, found.grant
    if r.revoked_at is not None or r.used_at is not None or now >= r.expires_at:
        return False
    return g is not None and g.revoked_at is None


def is_active(found: FoundAccess | FoundRefresh, now: float) -> bool:
    if isinstance(found, FoundAccess):
        return access_active(found, now)
    return refresh_active(found, now)
