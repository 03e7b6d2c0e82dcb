"""ID token validation by an independent OpenID client library (Authlib), as a relying party would."""

from __future__ import annotations

import warnings
from typing import Any


def validate_id_token(
    id_token: str,
    jwks: dict[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str | None,
    access_token: str | None,
    now: float | None = None,
) -> dict[str, Any]:
    """Signature via the JWK Set, then iss, aud, exp, iat, nonce and at_hash (OIDC Core §3.1.3.7)."""
    with warnings.catch_warnings():
        # Authlib announces that authlib.jose will move to joserfc; the validation itself is current.
        # (authlib.deprecate installs an "always" filter on import: ours must come after it.)
        from authlib.deprecate import AuthlibDeprecationWarning

        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        from authlib.jose import JsonWebKey, jwt
        from authlib.oidc.core import CodeIDToken

        claims = jwt.decode(
            id_token,
            JsonWebKey.import_key_set(jwks),
            claims_cls=CodeIDToken,
            claims_options={"iss": {"essential": True, "value": issuer}},
            claims_params={"nonce": nonce, "client_id": client_id, "access_token": access_token},
        )
        claims.validate(now=int(now) if now is not None else None, leeway=0)
    return dict(claims)
