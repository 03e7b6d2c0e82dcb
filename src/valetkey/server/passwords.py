"""Human passwords with Argon2id; client secrets as SHA-256 digests when high-entropy.

A client secret of 32 characters or more (a generated one is 43) is stored as ``sha256:<hex>``;
a shorter, human-chosen one is hashed with Argon2id like a password, since a fast digest of a
low-entropy value could be brute-forced from a stolen database.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from valetkey.core import secrets as vsecrets

HIGH_ENTROPY_LENGTH = 32
_hasher = PasswordHasher()  # Argon2id, RFC 9106 low-memory profile defaults (t=3, m=64 MiB, p=4)
_dummy: list[str] = []  # computed on first use: an unknown user still costs one Argon2 verification


def _dummy_hash() -> str:
    if not _dummy:
        _dummy.append(_hasher.hash("valetkey-timing-equalizer"))
    return _dummy[0]


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant work whether or not the user exists (``password_hash=None`` checks a dummy)."""
    try:
        return (
            bool(_hasher.verify(password_hash or _dummy_hash(), password))
            and password_hash is not None
        )
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def digest_client_secret(secret: str) -> str:
    if len(secret) >= HIGH_ENTROPY_LENGTH:
        return "sha256:" + vsecrets.digest(secret)
    return _hasher.hash(secret)


def verify_client_secret(secret: str, stored: str) -> bool:
    if stored.startswith("sha256:"):
        return vsecrets.matches_digest(secret, stored[len("sha256:") :])
    return verify_password(secret, stored)
