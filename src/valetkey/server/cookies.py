"""Signed values for cookies and CSRF tokens (HMAC-SHA256 with a per-deployment secret)."""

from __future__ import annotations

import base64
import hashlib
import hmac

from valetkey.core import secrets as vsecrets


class Signer:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(("valetkey-cookies\x00" + secret).encode()).digest()

    def _mac(self, purpose: str, value: str) -> str:
        mac = hmac.new(self._key, f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    def sign(self, purpose: str, value: str) -> str:
        return f"{value}.{self._mac(purpose, value)}"

    def unsign(self, purpose: str, signed: str | None) -> str | None:
        if not signed or "." not in signed:
            return None
        value, _, mac = signed.rpartition(".")
        if vsecrets.equal(mac, self._mac(purpose, value)):
            return value
        return None

    def csrf_token(self, browser_id: str, purpose: str) -> str:
        """Bound to the browser's CSRF cookie and to the form it protects."""
        return self._mac("csrf:" + purpose, browser_id)

    def check_csrf(self, browser_id: str | None, purpose: str, token: str | None) -> bool:
        if not browser_id or not token:
            return False
        return vsecrets.equal(token, self.csrf_token(browser_id, purpose))
