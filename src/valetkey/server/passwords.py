"""Human passwords with Argon2id; client secrets as SHA-256 digests when high-entropy.

The Argon2id cost is a setting (``password_memory_kib``, ``password_iterations``,
``password_parallelism``); the default is one of OWASP's equivalent configurations (7 MiB, t=5,
p=1: the one that costs the least CPU per check; RFC 9106 §4 lets the memory be traded for passes). A stored hash made with other parameters still verifies,
and ``check`` says when it should be replaced by one with the current parameters.

Checks run on libsodium (PyNaCl) when it can read the stored string and its cost is one where
libsodium is faster (two passes or more, or 32 MiB and more; ``sodium_checks``): the same Argon2id
(RFC 9106) and the same PHC strings argon2-cffi writes, computed with the CPU's wider vector
instructions (argon2-cffi's wheels are SSE2 builds): about a third less CPU per sign-in at the
default cost. Hashes are still made by argon2-cffi, and any other string (another variant or
version, odd lengths, a single pass over less memory) is checked by argon2-cffi: one check per
attempt either way.

A client secret of 32 characters or more (a generated one is 43) is stored as ``sha256:<hex>``;
a shorter, human-chosen one is hashed with Argon2id like a password, since a fast digest of a
low-entropy value could be brute-forced from a stolen database.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from valetkey.core import jose
from valetkey.core import secrets as vsecrets
from valetkey.core.models import CLIENT_SECRET_JWT, PRIVATE_KEY_JWT, PUBLIC_AUTH
from valetkey.core.settings import Settings

HIGH_ENTROPY_LENGTH = 32

# What libsodium's Argon2id check reads (crypto_pwhash_str_verify): argon2id, version 19, one
# parameter set, a salt of 8+ bytes and a hash of 16+ bytes in unpadded base64, 127 characters at
# most. Anything else goes to argon2-cffi, so that libsodium's "no" always means a wrong password.
_SODIUM_READS = re.compile(
    r"\$argon2id\$v=19\$m=[1-9][0-9]{0,9},t=[1-9][0-9]{0,9},p=[1-9][0-9]{0,7}"
    r"\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{22,}"
)
SODIUM_MAX_LENGTH = 127


@functools.cache
def _sodium_check() -> Callable[[str, str], bool] | None:
    """libsodium's Argon2id check, imported on the first password check (start-up does not pay
    for it); None where PyNaCl cannot be loaded, and argon2-cffi checks everything."""
    try:
        from nacl.exceptions import InvalidkeyError
        from nacl.pwhash import argon2id
    except ImportError:  # pragma: no cover - a dependency; kept working without it
        return None

    def check(password: str, stored: str) -> bool:
        try:
            return bool(argon2id.verify(stored.encode("ascii"), password.encode("utf-8")))
        except (InvalidkeyError, UnicodeEncodeError):  # no password that cannot be sent matches
            return False

    return check


def sodium_reads(stored: str) -> bool:
    """Whether libsodium can check this stored string (else argon2-cffi must)."""
    return _sodium_parameters(stored) is not None


# libsodium maps fresh memory for every check and takes a page fault per 4 KiB of it; its wider
# vector code wins that back only over two passes or more, or from 32 MiB (measured on this
# project's machine: m=7 MiB, t=1: 2.9 ms with argon2-cffi, 3.6 with libsodium; t=2, 4 MiB: 3.2
# against 2.8; t=5, 7 MiB: 15.1 against 9.5; m=8 KiB: equal, plus an mmap and munmap per check).
SODIUM_MIN_PASSES = 2
SODIUM_MIN_MEMORY_KIB = 32 * 1024


def sodium_checks(stored: str) -> bool:
    """Whether this stored string is checked by libsodium: it can read it, and it is the faster
    of the two libraries for its cost (else argon2-cffi checks it)."""
    parameters = _sodium_parameters(stored)
    return parameters is not None and _sodium_pays(parameters)


def _sodium_parameters(stored: str) -> str | None:
    """The ``m=..,t=..,p=..`` of a string libsodium can read; None for any other string."""
    if len(stored) > SODIUM_MAX_LENGTH or _SODIUM_READS.fullmatch(stored) is None:
        return None
    parameters = stored.split("$")[3]
    return parameters if _m_fits_lanes(parameters) else None


# Both per parameter set (a server has one or two), not per check.
@functools.lru_cache(maxsize=64)
def _m_fits_lanes(parameters: str) -> bool:
    """RFC 9106 §3.1: at least 8 KiB of memory per lane (argon2-cffi refuses less too)."""
    cost = _cost(parameters)
    return cost["m"] >= 8 * cost["p"]


@functools.lru_cache(maxsize=64)
def _sodium_pays(parameters: str) -> bool:
    cost = _cost(parameters)
    return cost["t"] >= SODIUM_MIN_PASSES or cost["m"] >= SODIUM_MIN_MEMORY_KIB


def _cost(parameters: str) -> dict[str, int]:
    """m, t and p of ``m=..,t=..,p=..``."""
    return {k: int(v) for k, v in (part.split("=") for part in parameters.split(","))}


def _b64_length(n: int) -> int:
    """Characters of ``n`` bytes in unpadded base64."""
    return (4 * n + 2) // 3


@dataclass(frozen=True)
class HashParams:
    """Argon2id's cost: memory in KiB, passes over it, lanes (RFC 9106 §3.1: m, t, p)."""

    memory_kib: int = 7 * 1024
    iterations: int = 5
    parallelism: int = 1

    @classmethod
    def of(cls, settings: Settings) -> HashParams:
        """The parameters a ``Settings`` names."""
        return cls(
            settings.password_memory_kib,
            settings.password_iterations,
            settings.password_parallelism,
        )


@dataclass(frozen=True)
class Verdict:
    ok: bool
    upgraded: str | None = None  # a hash of the same password with the current parameters


class Passwords:
    """Hashes and checks with one set of parameters. An unknown user costs the same as a known
    one: a dummy hash made with the same parameters is checked instead."""

    def __init__(self, params: HashParams = HashParams()) -> None:
        self.params = params
        self._hasher = PasswordHasher(
            time_cost=params.iterations,
            memory_cost=params.memory_kib,
            parallelism=params.parallelism,
            type=Type.ID,
        )

    @functools.cached_property
    def _current(self) -> tuple[str, int, int]:
        """What a hash made now starts with, where its salt ends, and its length (unpadded
        base64 of the salt and the hash)."""
        p = self.params
        head = f"$argon2id$v=19$m={p.memory_kib},t={p.iterations},p={p.parallelism}$"
        salt_end = len(head) + _b64_length(self._hasher.salt_len)
        return head, salt_end, salt_end + 1 + _b64_length(self._hasher.hash_len)

    def _is_current(self, password_hash: str) -> bool:
        """Made with exactly the current parameters (variant, version, m, t, p, salt and hash
        lengths): what argon2-cffi's check_needs_rehash compares, read from the string's shape."""
        head, salt_end, length = self._current
        return (
            len(password_hash) == length
            and password_hash.startswith(head)
            and password_hash.find("$", len(head)) == salt_end
        )

    @functools.cached_property
    def dummy(self) -> str:
        """The hash an unknown user's check verifies against, made on the first check rather than
        at start-up (one Argon2id hash, tens of milliseconds, per ``Passwords``)."""
        return self._hasher.hash("valetkey-timing-equalizer")

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password: str, password_hash: str | None) -> bool:
        """Constant work whether or not the user exists (``password_hash=None`` checks a dummy).
        The dummy is made on the first check of any user, known or not, so that first check costs
        the same either way too."""
        dummy = self.dummy  # made by the first check, of a known user or not
        stored = password_hash or dummy
        sodium = _sodium_check()
        if sodium is not None and sodium_checks(stored):
            return sodium(password, stored) and password_hash is not None
        try:
            return bool(self._hasher.verify(stored, password)) and password_hash is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError, UnicodeEncodeError):
            return False  # a password that cannot be encoded matches nothing

    def needs_rehash(self, password_hash: str) -> bool:
        if self._is_current(password_hash):  # the common case, without parsing the string
            return False
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return False  # not ours to replace (verify refuses it anyway)

    def check(self, password: str, password_hash: str | None) -> Verdict:
        """Verify; on success with a hash made with other parameters, also the replacement."""
        if not self.verify(password, password_hash):
            return Verdict(False)
        if password_hash is not None and self.needs_rehash(password_hash):
            return Verdict(True, self.hash(password))
        return Verdict(True)

    def digest_client_secret(self, secret: str) -> str:
        if len(secret) >= HIGH_ENTROPY_LENGTH:
            return "sha256:" + vsecrets.digest(secret)
        return self.hash(secret)

    def verify_client_secret(self, secret: str, stored: str) -> bool:
        if stored.startswith("sha256:"):
            return vsecrets.matches_digest(secret, stored[len("sha256:") :])
        return self.verify(secret, stored)


@functools.cache
def default_passwords() -> Passwords:
    """The default parameters' hasher, for code that has no settings at hand."""
    return Passwords()


def passwords_for(settings: Settings) -> Passwords:
    """The hasher for the parameters ``settings`` names."""
    params = HashParams.of(settings)
    return default_passwords() if params == HashParams() else Passwords(params)


def hash_password(password: str) -> str:
    return default_passwords().hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    return default_passwords().verify(password, password_hash)


def digest_client_secret(secret: str) -> str:
    return default_passwords().digest_client_secret(secret)


def verify_client_secret(secret: str, stored: str) -> bool:
    return default_passwords().verify_client_secret(secret, stored)


class SealingKeyMissing(ValueError):
    """A client_secret_jwt secret, and no client_secret_key to seal it with."""


def stored_secret(
    method: str,
    client_id: str,
    secret: str | None,
    sealing: bytes | None,
    passwords: Passwords | None = None,
) -> tuple[str | None, str | None]:
    """(secret_digest, secret_sealed): how a client's secret is kept for its authentication
    method. ``none`` and private_key_jwt keep nothing; client_secret_jwt needs the secret itself
    as its MAC key (RFC 7518 §3.2), so it is sealed under ``sealing`` (the client_secret_key) with
    the client_id as associated data; every other method keeps a digest (SHA-256 when
    high-entropy, else Argon2id). Raises SealingKeyMissing for a client_secret_jwt secret without a
    key; each caller says so in its own words."""
    if secret is None or method in (PUBLIC_AUTH, PRIVATE_KEY_JWT):
        return None, None
    if method == CLIENT_SECRET_JWT:
        if sealing is None:
            raise SealingKeyMissing(f"client {client_id!r} uses client_secret_jwt")
        return None, jose.seal_secret(sealing, client_id, secret)
    return (passwords or default_passwords()).digest_client_secret(secret), None
