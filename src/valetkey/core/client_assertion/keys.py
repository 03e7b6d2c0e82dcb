"""Choosing the registered key that verifies an assertion (RFC 7515 §4.1.4, OIDC Core §10.1).

Keys come only from the client's registration (``jwks``, or the document at its ``jwks_uri``):
never from the assertion's own ``jwk``, ``jku``, ``x5u`` or ``x5c`` headers, which anyone can set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from valetkey.core import jose
from valetkey.core.errors import InvalidClient


class UnknownAssertionKey(InvalidClient):
    """No registered key fits the assertion (its ``kid``, or its alg's key type). A server that
    fetched the keys from ``jwks_uri`` may fetch them once more (the client may have rotated its
    keys) and verify again; the answer stays this error if the fresh set has no such key either."""


# RFC 9864: "Ed25519" is the fully specified name of what RFC 8037 called "EdDSA" for these keys.
_SYNONYM = {"EdDSA": "Ed25519", "Ed25519": "EdDSA"}


def _fits(jwk: Any, alg: str) -> bool:
    if not isinstance(jwk, Mapping) or jwk.get("kty") != jose.key_type(alg):
        return False
    return bool(jwk.get("use", "sig") == "sig" and jwk.get("alg", alg) in (alg, _SYNONYM.get(alg)))


def select_key(jwks: Mapping[str, Any] | None, alg: str, kid: Any) -> jose.PublicKey:
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise InvalidClient(
            "this client has no registered keys (jwks or jwks_uri) to verify its assertion"
        )
    candidates = [k for k in keys if _fits(k, alg)]
    if kid is not None:
        candidates = [k for k in candidates if k.get("kid") == kid]
        if not candidates:
            raise UnknownAssertionKey(
                f"no key registered for this client has the assertion's kid and fits {alg}",
                detail=f"kid={str(kid)[:80]!r}",
            )
    elif len(candidates) > 1:
        # OIDC Core §10.1: with several keys in the set, the signer names its key with kid.
        raise InvalidClient(
            f"this client has several {alg} keys registered: name the signing key with kid"
        )
    elif not candidates:
        raise UnknownAssertionKey(f"no key registered for this client can verify {alg}")
    if len(candidates) > 1:
        raise InvalidClient("this client registered several keys with the assertion's kid")
    try:
        return jose.proof_public_key({**candidates[0], "alg": alg}, alg)
    except jose.TokenInvalid as exc:
        raise InvalidClient(f"the client's registered key cannot verify {alg}: {exc}") from exc
