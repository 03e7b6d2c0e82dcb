"""Signing keys from the database, cached as key objects; several instances see the same keys."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from valetkey.core import jose
from valetkey.core.models import SigningKey
from valetkey.store.protocol import Store

RELOAD_SECONDS = 30.0


class KeyRing:
    def __init__(self, store: Store, *, retire_after: float) -> None:
        self.store = store
        self.retire_after = retire_after  # longest lifetime of anything a key signed
        self._keys: list[SigningKey] = []
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self._jwks: dict[str, Any] = {"keys": []}

    def ensure(self, algs: tuple[str, ...], now: float) -> None:
        """Create an active key for each algorithm that has none (first start)."""
        self.reload(now)
        for alg in algs:
            if not any(k.active and k.alg == alg for k in self._keys):
                self.store.add_signing_key(_new_key(alg, now))
        self.reload(now)

    def reload(self, now: float) -> None:
        keys = self.store.list_signing_keys()
        published = [
            k
            for k in keys
            if k.active or (k.retired_at is not None and now < k.retired_at + self.retire_after)
        ]
        with self._lock:
            self._keys = keys
            self._jwks = jose.jwks(k.private_jwk for k in published)
            self._loaded_at = now

    def _maybe_reload(self, now: float) -> None:
        if now - self._loaded_at > RELOAD_SECONDS:
            self.reload(now)

    def active(self, alg: str, now: float) -> Mapping[str, Any]:
        self._maybe_reload(now)
        candidates = [k for k in self._keys if k.active and k.alg == alg]
        if not candidates:
            self.reload(now)
            candidates = [k for k in self._keys if k.active and k.alg == alg]
            if not candidates:
                raise LookupError(f"no active {alg} signing key")
        return max(candidates, key=lambda k: k.created_at).private_jwk

    def jwks(self, now: float) -> dict[str, Any]:
        self._maybe_reload(now)
        return self._jwks

    def rotate(self, alg: str, now: float) -> SigningKey:
        key = _new_key(alg, now)
        self.store.add_signing_key(key, deactivate_others_of_alg=True)
        self.reload(now)
        return key


def _new_key(alg: str, now: float) -> SigningKey:
    private = jose.generate_private_jwk(alg)
    return SigningKey(
        kid=str(private["kid"]), alg=alg, private_jwk=private, created_at=now, active=True
    )
