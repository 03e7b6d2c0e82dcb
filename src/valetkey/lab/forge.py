"""ID tokens, honest or wrong in one named way (the ``id_token`` faults of the catalogue).

Honest tokens are signed through ``core.jose``; the forgeries that no honest signer makes (an
unsigned token, an HMAC keyed with the public key) are assembled here from their parts.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import RSAKey

from valetkey.core import jose
from valetkey.core.secrets import new_token
from valetkey.lab.state import LabKeys

SUBJECT = "lab-user"
LIFETIME = 600


@dataclass(frozen=True)
class Context:
    issuer: str
    other_issuer: str
    client_id: str
    nonce: str | None
    access_token: str
    now: int
    key: dict[str, Any]  # the signing key the lab publishes now
    keys: LabKeys


Claims = dict[str, Any]


def claims(ctx: Context) -> Claims:
    """OIDC Core §2: the claims of an honest ID token for this response."""
    out: Claims = {
        "iss": ctx.issuer,
        "sub": SUBJECT,
        "aud": ctx.client_id,
        "iat": ctx.now,
        "exp": ctx.now + LIFETIME,
        "at_hash": jose.token_hash(ctx.access_token, "RS256"),
    }
    if ctx.nonce is not None:
        out["nonce"] = ctx.nonce
    return out


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def unsigned(body: Claims, ctx: Context) -> str:
    """RFC 7519 §6: an Unsecured JWT, alg none and an empty signature."""
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(body)}."


def hmac_with_public_key(body: Claims, ctx: Context) -> str:
    """The algorithm confusion of RFC 8725 §2.1: HS256 keyed with the RSA public key's PEM, which
    a verifier that lets the token choose its algorithm would use as the HMAC secret."""
    pem = RSAKey.import_key(jose.public_jwk(ctx.key)).as_pem(private=False)
    head = _segment({"alg": "HS256", "kid": ctx.key["kid"], "typ": "JWT"})
    signing_input = f"{head}.{_segment(body)}".encode("ascii")
    signature = hmac.new(pem, signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode('ascii')}.{_b64(signature)}"


def unpublished_key(body: Claims, ctx: Context) -> str:
    return jose.sign(body, ctx.keys.stray)


def _set(**values: Callable[[Context], Any]) -> Callable[[Claims, Context], None]:
    def change(body: Claims, ctx: Context) -> None:
        body.update({name: make(ctx) for name, make in values.items()})

    return change


# Faults that change the claims (the token is then signed honestly) ...
CLAIM_FAULTS: dict[str, Callable[[Claims, Context], None]] = {
    "id-token-aud": _set(aud=lambda c: "another-client"),
    "id-token-iss": _set(iss=lambda c: c.other_issuer),
    "id-token-nonce": _set(nonce=lambda c: new_token(16)),
    "id-token-at-hash": _set(at_hash=lambda c: jose.token_hash(new_token(24), "RS256")),
    "id-token-expired": _set(iat=lambda c: c.now - 7200, exp=lambda c: c.now - 3600),
    "id-token-iat-future": _set(iat=lambda c: c.now + 3600, exp=lambda c: c.now + 7200),
}
# ... and faults that sign it wrongly.
SIGNING_FAULTS: dict[str, Callable[[Claims, Context], str]] = {
    "id-token-alg-none": unsigned,
    "id-token-hs256-pubkey": hmac_with_public_key,
    "id-token-kid-unknown": unpublished_key,
}
FAULTS = frozenset(CLAIM_FAULTS) | frozenset(SIGNING_FAULTS)


def id_token(ctx: Context, fault: str | None = None) -> str:
    """An ID token for this response, wrong in the way ``fault`` names (None: honest)."""
    body = claims(ctx)
    if fault in CLAIM_FAULTS:
        CLAIM_FAULTS[fault](body, ctx)
    if fault in SIGNING_FAULTS:
        return SIGNING_FAULTS[fault](body, ctx)
    return jose.sign(body, ctx.key)
