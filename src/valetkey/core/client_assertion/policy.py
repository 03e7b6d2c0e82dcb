"""What the server accepts in a client assertion; the integration maps settings onto it."""

from __future__ import annotations

from dataclasses import dataclass

from valetkey.core import jose
from valetkey.core.models import CLIENT_SECRET_JWT, JWT_METHODS, PRIVATE_KEY_JWT

__all__ = [
    "CLIENT_SECRET_JWT",
    "JWT_METHODS",
    "KEY_ALGS",
    "PRIVATE_KEY_JWT",
    "SECRET_ALGS",
    "AssertionPolicy",
]
# Signatures only for private_key_jwt (never "none", never a MAC); RS256 is OIDC's default and
# what most clients send, ES256 and Ed25519 are the modern choices.
KEY_ALGS = jose.PROOF_ALGS
SECRET_ALGS = tuple(jose.MAC_ALGS)


@dataclass(frozen=True)
class AssertionPolicy:
    key_algs: tuple[str, ...] = KEY_ALGS  # private_key_jwt
    secret_algs: tuple[str, ...] = SECRET_ALGS  # client_secret_jwt
    max_lifetime: float = 300.0  # exp - iat, and exp - now, at most this (the issue: minutes)
    leeway: float = 30.0  # clock skew allowed on exp, nbf and iat
    max_jti_length: int = 256
    max_length: int = 8192  # characters of the whole assertion
    # draft-ietf-oauth-rfc7523bis: only the issuer, as a string, is an accepted aud
    issuer_only: bool = False

    def __post_init__(self) -> None:
        if not self.key_algs or not set(self.key_algs) <= set(KEY_ALGS):
            raise ValueError(f"key_algs must be a non-empty subset of {KEY_ALGS}")
        if not self.secret_algs or not set(self.secret_algs) <= set(SECRET_ALGS):
            raise ValueError(f"secret_algs must be a non-empty subset of {SECRET_ALGS}")
        if self.max_lifetime <= 0 or self.leeway < 0 or self.max_jti_length < 1:
            raise ValueError(
                "max_lifetime must be positive, leeway and max_jti_length not negative"
            )
