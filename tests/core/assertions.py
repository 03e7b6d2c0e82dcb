"""Building client assertions for tests: well-formed ones with any header and claims, and forged."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import replace
from typing import Any

from tests.core import dpop_proofs
from tests.core.dpop_proofs import _merge as merge
from tests.core.dpop_proofs import b64
from valetkey.core import jose
from valetkey.core.client_assertion import AssertionContext, AssertionPolicy

NOW = 1_700_000_000.0
ISSUER = "https://as.example"
TOKEN_URL = "https://as.example/token"
REVOKE_URL = "https://as.example/revoke"
CLIENT = "svc"
SECRET = "s3cret-" + "x" * 57  # 64 bytes: long enough for HS512 (RFC 7518 §3.2)
EC_KEY = jose.generate_private_jwk("ES256", kid="ec-1")
RSA_KEY = jose.generate_private_jwk("RS256", kid="rsa-1")
ED_KEY = jose.generate_private_jwk("Ed25519", kid="ed-1")
STRANGER = jose.generate_private_jwk("ES256", kid="ec-1")  # an attacker's key under the same kid
JWKS = jose.jwks([EC_KEY, RSA_KEY, ED_KEY])
DROP = dpop_proofs.DROP  # a claim or header member to leave out


def claims(**changes: Any) -> dict[str, Any]:
    base = {
        "iss": CLIENT,
        "sub": CLIENT,
        "aud": ISSUER,
        "jti": "jti-0001",
        "iat": NOW,
        "exp": NOW + 60,
    }
    return merge(base, changes)


def signed(key: dict[str, Any] = EC_KEY, body: dict[str, Any] | None = None, **head: Any) -> str:
    """private_key_jwt: signed with ``key``, its header naming the key's alg and kid."""
    header = merge({"alg": key["alg"], "kid": key["kid"], "typ": "JWT"}, head)
    return jose.sign_jws(header, claims() if body is None else body, key)


def maced(
    secret: bytes | str = SECRET,
    body: dict[str, Any] | None = None,
    alg: str = "HS256",
    **head: Any,
) -> str:
    """client_secret_jwt, or any MAC (HS*) over any bytes: the key-confusion attack uses this."""
    key = secret.encode() if isinstance(secret, str) else secret
    header = merge({"alg": alg, "typ": "JWT"}, head)
    signing_input = f"{b64(header)}.{b64(claims() if body is None else body)}"
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    mac = hmac.new(key, signing_input.encode(), digest).digest()
    return f"{signing_input}.{b64(mac)}"


def unsigned(body: dict[str, Any] | None = None) -> str:
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims() if body is None else body)}."


def context(**changes: Any) -> AssertionContext:
    base = AssertionContext(
        issuer=ISSUER,
        endpoint_url=TOKEN_URL,
        now=NOW,
        token_endpoint_url=TOKEN_URL,
        jwks=JWKS,
        client_secret=SECRET,
        policy=AssertionPolicy(),
    )
    return replace(base, **changes)
