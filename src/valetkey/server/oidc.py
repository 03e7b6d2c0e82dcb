"""OpenID Connect ID tokens (OIDC Core §2, §3.1.3.6) and the claims each scope releases (§5.4)."""

from __future__ import annotations

from typing import Any

from valetkey.core import jose
from valetkey.core.models import Client, User
from valetkey.server.state import ServerState

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}


def claims_for_scopes(user: User, scope: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {"sub": user.sub}
    for s in scope:
        for name in SCOPE_CLAIMS.get(s, ()):
            if name in user.claims:
                out[name] = user.claims[name]
    if "profile" in scope and "preferred_username" not in out:
        out["preferred_username"] = user.username
    return out


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
