"""OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6); the claims each scope releases are in
core.claims (``SCOPE_CLAIMS`` stays importable here for server.metadata)."""

from __future__ import annotations

from typing import Any

from valetkey.core import jose
from valetkey.core.claims import SCOPE_CLAIMS, claims_for_scopes
from valetkey.core.models import Client, User
from valetkey.server.state import ServerState

__all__ = ["SCOPE_CLAIMS", "claims_for_scopes", "id_token_for"]


def id_token_for(
    state: ServerState,
    client: Client,
    user: User,
    scope: tuple[str, ...],
    auth_time: float,
    nonce: str | None,
    access_token: str | None,
    now: float,
) -> str:
    alg = state.settings.id_token_alg
    claims: dict[str, Any] = {
        "iss": state.issuer,
        "aud": client.client_id,
        "azp": client.client_id,
        "exp": int(now) + state.settings.id_token_ttl,
        "iat": int(now),
        "auth_time": int(auth_time),
        **claims_for_scopes(user, scope),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if access_token is not None:
        claims["at_hash"] = jose.token_hash(access_token, alg)
    return jose.sign(claims, state.keys.active(alg, now), typ="JWT")
