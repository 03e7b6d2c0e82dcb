"""PKCE (RFC 7636): verifier syntax, challenge derivation and verification."""

from __future__ import annotations

import base64
import hashlib
import re

from valetkey.core import secrets as vsecrets
from valetkey.core.secrets import new_token

METHODS = ("S256", "plain")
# RFC 7636 §4.1: 43-128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"
_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# RFC 7636 §4.2: the S256 challenge is BASE64URL without padding: exactly 43 characters
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")


def is_valid_verifier(verifier: str) -> bool:
    return bool(_VERIFIER.match(verifier))


def is_valid_challenge(challenge: str) -> bool:
    return bool(_CHALLENGE.match(challenge))


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def challenge_for(verifier: str, method: str) -> str:
    if method == "S256":
        return s256(verifier)
    if method == "plain":
        return verifier
    raise ValueError(f"unknown code_challenge_method {method!r}")


def verify(verifier: str, challenge: str, method: str) -> bool:
    """RFC 7636 §4.6: recompute the challenge from the verifier and compare in constant time."""
    if not is_valid_verifier(verifier):
        return False
    return vsecrets.equal(challenge_for(verifier, method), challenge)


def new_verifier() -> str:
    """64 random bytes give an 86-character verifier, within 43-128 (RFC 7636 §4.1)."""
    return new_token(64)
