"""The demo client's ID token validation (OpenID Connect Core §3.1.3.7), as checks to display."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from valetkey.core.events import Check
from valetkey.core.jose import TokenInvalid, token_hash, verify

if TYPE_CHECKING:
    from valetkey.demo.oauth import DemoOAuth

SPEC = "OIDC Core §3.1.3.7"


async def check_id_token(
    oauth: DemoOAuth, token: str, client_id: str, nonce: str | None, body: dict[str, Any]
) -> tuple[Check, ...]:
    meta = await oauth.metadata()
    r = await oauth.http.get(str(meta["jwks_uri"]))
    try:
        header, claims = verify(token, r.json(), algorithms=("RS256", "ES256"))
    except TokenInvalid as exc:
        return (Check("check_id_token_signature", "fail", SPEC + " step 6", str(exc)),)
    now = time.time()
    aud = claims.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    checks = [
        Check(
            "check_id_token_signature",
            "pass",
            SPEC + " step 6",
            f"{header.get('alg')} kid={header.get('kid')}",
        ),
        _check(
            "check_id_token_issuer",
            claims.get("iss") == oauth.config.issuer,
            SPEC + " step 2",
            f"iss={claims.get('iss')}",
        ),
        _check("check_id_token_audience", client_id in audiences, SPEC + " step 3", f"aud={aud}"),
        _check(
            "check_id_token_expiry",
            float(claims.get("exp", 0)) > now,
            SPEC + " step 9",
            f"exp={claims.get('exp')}",
        ),
        _check(
            "check_id_token_nonce",
            nonce is None or claims.get("nonce") == nonce,
            "OIDC Core §3.1.3.7 step 11",
            "nonce matches the one this client sent" if nonce else "no nonce sent",
        ),
    ]
    if "at_hash" in claims and body.get("access_token"):
        expected = token_hash(str(body["access_token"]), str(header.get("alg")))
        checks.append(
            _check(
                "check_at_hash",
                claims["at_hash"] == expected,
                "OIDC Core §3.2.2.9",
                "at_hash binds the ID token to this access token",
            )
        )
    return tuple(checks)


def _check(rule: str, ok: bool, spec: str, detail: str) -> Check:
    return Check(rule, "pass" if ok else "fail", spec, detail)
