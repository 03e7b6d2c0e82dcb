"""Token generation and digests. Every token comes from ``secrets``; every comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token (256 bits by default)."""
    return secrets.token_urlsafe(nbytes)


def ordered_id(nbytes: int = 16) -> str:
    """An identifier for a new row (a token's ``jti``, a grant): the creation time in microseconds
    as 13 hex digits, then ``nbytes`` random bytes from ``secrets`` (128 bits by default).

    Ids made later sort later, so a table's primary-key index takes new rows on its last pages
    instead of on a random page each, and a transaction writing many rows dirties few pages. For
    identifiers only: the time part can be guessed, so a secret must use ``new_token``.
    """
    return f"{time.time_ns() // 1000:013x}{secrets.token_urlsafe(nbytes)}"


def digest(value: str) -> str:
    """SHA-256 hex digest: the stored form of high-entropy secrets (codes, refresh tokens, client secrets).

    A fast hash is right for 256-bit random values: there is nothing to brute-force.
    """
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def equal(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def matches_digest(value: str, stored_digest: str) -> bool:
    return equal(digest(value), stored_digest)
