"""The device flow's two codes (RFC 8628 §3.2, §5.1-5.2, §6.1).

The user code is what a person reads on one screen and types on another: 8 letters of a 20-letter
alphabet without vowels (no words, no 0/O or 1/I confusion), about 34.6 bits, shown ``XXXX-XXXX``
and accepted in any case, with or without dashes and spaces. The device code is what the device
keeps and polls with: 256 random bits, stored only as a digest.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from valetkey.core.secrets import digest

USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: base-20, no vowels
USER_CODE_LENGTH = 8  # 20**8 = 2.56e10 codes: log2 = 34.6 bits (RFC 8628 §5.1 asks for ~34)
USER_CODE_GROUP = 4  # shown as two groups of four: XXXX-XXXX
# What a person may type besides the letters: spaces, and the dashes text editors and web pages
# put in place of "-" when the code is copied (hyphen, non-breaking hyphen, figure/en/em dash,
# minus sign).
_SEPARATORS = frozenset(" \t-\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
MAX_TYPED_LENGTH = 64  # anything longer is not an attempt at a user code
DEVICE_CODE_BYTES = 32  # 256 bits (RFC 8628 §5.2, RFC 6749 §10.10)

RandBelow = Callable[[int], int]
TokenSource = Callable[[int], str]


class UserCodeRejected(ValueError):
    """What the user typed cannot be a user code; ``str(exc)`` says why, for the entry page."""


def forgotten_before(now: float, ttl: int) -> float:
    """Codes that expired at or before this time are purged. An expired code is kept for one more
    lifetime, so that a device polling late still hears ``expired_token`` (RFC 8628 §3.5, start
    again) rather than ``invalid_grant``; stored codes stay within twice a client's cap."""
    return now - ttl


def new_user_code(randbelow: RandBelow = secrets.randbelow) -> str:
    """A fresh user code in its stored form (8 letters, no dash); ``randbelow`` must come from
    ``secrets`` outside tests (RFC 8628 §5.1: user codes are a guessing target)."""
    size = len(USER_CODE_ALPHABET)
    return "".join(USER_CODE_ALPHABET[randbelow(size)] for _ in range(USER_CODE_LENGTH))


def display_user_code(code: str) -> str:
    """The stored form as people read it: ``BCDF-GHJK`` (RFC 8628 §6.1)."""
    return code[:USER_CODE_GROUP] + "-" + code[USER_CODE_GROUP:]


def normalize_user_code(typed: str) -> str:
    """The stored form of what a person typed: upper case, dashes and spaces dropped (RFC 8628
    §6.1); anything else raises :class:`UserCodeRejected` naming the problem."""
    if len(typed) > MAX_TYPED_LENGTH:
        raise UserCodeRejected(
            f"that is too long for a code: a code is {USER_CODE_LENGTH} letters, like BCDF-GHJK"
        )
    letters = "".join(c for c in typed if c not in _SEPARATORS)
    if not letters:
        raise UserCodeRejected("enter the code shown on your device, like BCDF-GHJK")
    code = "".join(c.upper() if "a" <= c <= "z" else c for c in letters)
    foreign = sorted({c for c in code if c not in USER_CODE_ALPHABET})
    if foreign:
        named = [c for c in foreign if c.isascii() and c.isprintable()][:5]
        what = " ".join(named) if len(named) == len(foreign) else "characters other than A-Z"
        raise UserCodeRejected(
            f"the code cannot contain {what}: codes use only the consonants "
            f"{USER_CODE_ALPHABET} (no vowels, no digits)"
        )
    if len(code) != USER_CODE_LENGTH:
        raise UserCodeRejected(
            f"the code has {USER_CODE_LENGTH} letters and you entered {len(code)}; "
            "check it against your device"
        )
    return code


@dataclass(frozen=True)
class MintedDeviceCode:
    """A new device code: ``value`` goes to the device once, ``digest`` is what the server keeps."""

    value: str
    digest: str


def mint_device_code(token: TokenSource = secrets.token_urlsafe) -> MintedDeviceCode:
    """256 random bits, URL-safe; kept as a SHA-256 digest, so a copy of the database cannot
    poll (RFC 8628 §5.2: a high-entropy device code; RFC 6819 §5.1.4.1.3: secrets hashed)."""
    value = token(DEVICE_CODE_BYTES)
    return MintedDeviceCode(value, device_code_digest(value))


def device_code_digest(presented: str) -> str:
    """The key to look a presented device code up by (the same digest as every other secret)."""
    return digest(presented)


def user_code_digest(code: str) -> str:
    """What the server keeps of a user code in its stored form (``normalize_user_code``): a
    digest, so a copy of the database shows no code a person could still type."""
    return digest(code)
