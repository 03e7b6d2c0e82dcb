"""Signed values for cookies and CSRF tokens: HMAC-SHA256 under a list of keys, newest first.

The first key signs; every key verifies, so keys rotate without signing anyone out: add a new key,
make it the first, and drop the old one once nothing it signed can still be valid.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from valetkey.core import secrets as vsecrets
from valetkey.core.config_secrets import STORED_KEY

if TYPE_CHECKING:
    from starlette.responses import Response


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


# A cookie name or value http.cookies writes as it is (its legal characters, all within RFC 6265
# §4.1.1's cookie-octets): every value this server sets (tokens, signed values) is one.
_PLAIN = re.compile(r"[A-Za-z0-9!#$%&'*+\-.^_`|~:]+")


def set_cookie(
    response: Response,
    name: str,
    value: str,
    *,
    secure: bool,
    max_age: int | None = None,
) -> None:
    """``Set-Cookie`` for one of the server's cookies: HttpOnly, SameSite=Lax, Path=/ (and Secure
    on an https issuer). The same header Starlette's ``set_cookie`` writes, without building an
    ``http.cookies`` jar for it (three on every sign-in); a value that would need quoting goes
    through Starlette."""
    if _PLAIN.fullmatch(name) is None or _PLAIN.fullmatch(value) is None:
        response.set_cookie(
            name, value, max_age=max_age, httponly=True, samesite="lax", secure=secure, path="/"
        )
        return
    age = "" if max_age is None else f"; Max-Age={max_age}"
    tail = "; Secure" if secure else ""
    header = f"{name}={value}; HttpOnly{age}; Path=/; SameSite=lax{tail}"
    response.raw_headers.append((b"set-cookie", header.encode("latin-1")))
