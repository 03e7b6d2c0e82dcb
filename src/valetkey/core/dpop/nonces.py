"""Server-provided DPoP nonces (RFC 9449 §8, §9, §11.2-11.3) that need no server state.

A nonce is HMAC-SHA256(secret, context | time window): every instance sharing the secret mints the
same nonce in the same window and accepts its neighbours', so nonces work across instances
without a database, and an attacker without the secret cannot predict the next one (§8).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Protocol

MAX_NONCE_LENGTH = 256


class NonceSource(Protocol):
    """What proof validation needs from a server's nonces: the one to hand out now, and whether
    a proof's nonce is still good."""

    def current(self, now: float) -> str: ...

    def accepts(self, nonce: str, now: float) -> bool: ...


class FixedNonce:
    """One nonce the server chose and remembers by itself (tests, a single value per client)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def current(self, now: float) -> str:
        return self.value

    def accepts(self, nonce: str, now: float) -> bool:
        return hmac.compare_digest(nonce.encode("utf-8"), self.value.encode("utf-8"))


class DPoPNonces:
    """Stateless nonces in windows of ``lifetime`` seconds.

    A nonce is accepted in its own window and the next (so it lives ``lifetime`` to twice that),
    and in the window before its own, so that an instance whose clock lags its peers' by up to a
    window still accepts what they handed out. ``context`` keeps nonces apart per server: pass the
    issuer at the authorization server and the origin at a resource server (RFC 9449 §9: a nonce is
    accepted only by the server that issued it), so one secret may serve both.
    """

    def __init__(self, secret: bytes | str, *, lifetime: float = 300.0, context: str = "") -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(key) < 16:
            raise ValueError("the nonce secret must be at least 16 bytes (use secrets.token_bytes)")
        if lifetime <= 0:
            raise ValueError("the nonce lifetime must be positive")
        self._key = key
        self.lifetime = float(lifetime)
        self._context = context.encode("utf-8")
        self._minted: dict[int, str] = {}

    def window(self, now: float) -> int:
        return int(now // self.lifetime)

    def for_window(self, window: int) -> str:
        nonce = self._minted.get(window)
        if nonce is None:
            message = self._context + b"\x00" + str(window).encode("ascii")
            digest = hmac.new(self._key, message, hashlib.sha256).digest()
            nonce = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")  # RFC 9449 §8.1
            if len(self._minted) >= 8:
                self._minted.clear()
            self._minted[window] = nonce
        return nonce

    def current(self, now: float) -> str:
        return self.for_window(self.window(now))

    def accepts(self, nonce: str, now: float) -> bool:
        if len(nonce) > MAX_NONCE_LENGTH:
            return False
        given = nonce.encode("utf-8")
        window = self.window(now)
        # No early exit: each of the three comparisons always runs (constant time).
        matches = [
            hmac.compare_digest(given, self.for_window(w).encode("ascii"))
            for w in (window - 1, window, window + 1)
        ]
        return any(matches)
