"""ID token validation (OIDC Core §3.1.3.7, §3.2.2.11): signature via JWKS, then the claims."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Any

import httpx

from valetkey.client.config import check_url
from valetkey.client.errors import IdTokenInvalid
from valetkey.client.io import Flow
from valetkey.client.messages import read_json
from valetkey.core import jose

LEEWAY = 60.0
STEP = "OIDC Core §3.1.3.7 step "  # the section's numbered validation steps
AT_HASH = "OIDC Core §3.1.3.8"


def check_claims(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    access_token: str | None,
    now: float,
    require_at_hash: bool = False,
) -> None:
    # OIDC Core §3.1.3.7 step 2: iss must match exactly.
    if claims.get("iss") != issuer:
        raise IdTokenInvalid(
            f"ID token iss {claims.get('iss')!r} is not the issuer {issuer!r}", spec=STEP + "2"
        )
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    # Step 3: aud must contain our client_id; step 4-5: azp when several audiences.
    if client_id not in audiences:
        raise IdTokenInvalid(
            f"ID token audience {aud!r} does not include this client", spec=STEP + "3"
        )
    if len(audiences) > 1 and claims.get("azp") != client_id:
        raise IdTokenInvalid(
            "ID token has several audiences and azp is not this client", spec=STEP + "4-5"
        )
    exp = claims.get("exp")
    # Step 9: the current time must be before exp.
    if not isinstance(exp, int | float) or exp + LEEWAY < now:
        raise IdTokenInvalid("ID token is expired (or has no exp)", spec=STEP + "9")
    iat = claims.get("iat")
    # Step 10 (and §2: iat is required): a token issued in the future was not issued by a clock
    # the client can trust; beyond the leeway it is refused.
    if not isinstance(iat, int | float) or iat - LEEWAY > now:
        raise IdTokenInvalid("ID token has no iat, or an iat in the future", spec=STEP + "10")
    if nonce is not None:
        # Step 11: the nonce must be the one sent in the authorization request.
        got = claims.get("nonce")
        if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
            raise IdTokenInvalid(
                "ID token nonce does not match the one sent (replay?)", spec=STEP + "11"
            )
    _check_at_hash(header, claims, access_token, require_at_hash)


def _check_at_hash(
    header: Mapping[str, Any], claims: Mapping[str, Any], access_token: str | None, required: bool
) -> None:
    at_hash = claims.get("at_hash")
    if at_hash is None:
        if required:  # OIDC Core §3.2.2.10: required when the ID token comes with an access token
            raise IdTokenInvalid(
                "ID token lacks at_hash, required next to an access token here",
                spec="OIDC Core §3.2.2.10",
            )
        return
    if access_token is None:
        return
    try:
        expected = jose.token_hash(access_token, str(header.get("alg")))
    except KeyError as exc:
        raise IdTokenInvalid(
            f"cannot check at_hash for alg {header.get('alg')!r}", spec=AT_HASH
        ) from exc
    # OIDC Core §3.1.3.8: at_hash binds the ID token to this access token.
    if not hmac.compare_digest(str(at_hash).encode(), expected.encode()):
        raise IdTokenInvalid("ID token at_hash does not match the access token", spec=AT_HASH)


def validate(
    id_token: str,
    *,
    jwks_uri: str | None,
    issuer: str | None,
    client_id: str,
    nonce: str | None,
    access_token: str | None,
    now: float,
    require_at_hash: bool = False,
) -> Flow[dict[str, Any]]:
    """Fetch the JWKS, verify the signature, check the claims; return the claims."""
    if not jwks_uri or not issuer:
        raise IdTokenInvalid(
            "cannot validate the ID token without the issuer and its jwks_uri: configure --issuer "
            "(or --jwks-uri and --issuer)"
        )
    url = check_url(jwks_uri, "jwks_uri")
    response = yield httpx.Request("GET", url, headers={"Accept": "application/json"})
    if response.status_code != 200:
        raise IdTokenInvalid(
            f"cannot fetch the JWK Set: {jwks_uri} answered {response.status_code}",
            spec=STEP + "6",
        )
    keys = read_json(response)
    try:
        header, claims = jose.verify(id_token, keys)
    except jose.TokenInvalid as exc:
        raise IdTokenInvalid(
            f"ID token {exc}: not signed by this issuer's keys", spec=STEP + "6"
        ) from exc
    check_claims(
        header,
        claims,
        issuer=issuer,
        client_id=client_id,
        nonce=nonce,
        access_token=access_token,
        now=now,
        require_at_hash=require_at_hash,
    )
    return claims
