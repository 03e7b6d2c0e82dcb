"""Signed values for cookies and CSRF tokens: HMAC-SHA256 under a list of keys, newest first.

The first key signs; every key verifies, so keys rotate without signing anyone out: add a new key,
make it the first, and drop the old one once nothing it signed can still be valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Sequence

from valetkey.core import secrets as vsecrets
from valetkey.core.config_secrets import STORED_KEY


def signing_keys(configured: Sequence[str] | None, stored: Callable[[], str]) -> tuple[str, ...]:
    """The ``cookie_keys`` setting with ``stored()`` (the generated key kept in the database) in
    place of ``"stored"``; unset: the stored key alone."""
    return tuple(stored() if key == STORED_KEY else key for key in configured or (STORED_KEY,))


def _derive(secret: str) -> bytes:
    return hashlib.sha256(("valetkey-cookies\x00" + secret).encode()).digest()


class Signer:
    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("a Signer needs at least one key")
        self._keys = tuple(_derive(k) for k in keys)

    @staticmethod
    def _mac(key: bytes, purpose: str, value: str) -> str:
        mac = hmac.new(key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def _verifies(self, mac: str, purpose: str, value: str) -> bool:
        # Each comparison is constant-time; stopping at the first match tells at most which key
        # position signed, which is no secret.
        return any(vsecrets.equal(mac, self._mac(key, purpose, value)) for key in self._keys)

    def sign(self, purpose: str, value: str) -> str:
        return f"{value}.{self._mac(self._keys[0], purpose, value)}"

    def unsign(self, purpose: str, signed: str | None) -> str | None:
        if not signed or "." not in signed:
            return None
        value, _, mac = signed.rpartition(".")
        return value if self._verifies(mac, purpose, value) else None

    def csrf_token(self, browser_id: str, purpose: str) -> str:
        """Bound to the browser's CSRF cookie and to the form it protects."""
        return self._mac(self._keys[0], "csrf:" + purpose, browser_id)

    def check_csrf(self, browser_id: str | None, purpose: str, token: str | None) -> bool:
        if not browser_id or not token:
            return False
        return self._verifies(token, "csrf:" + purpose, browser_id)
