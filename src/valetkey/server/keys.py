"""Signing keys from the database, cached as key objects; several instances see the same keys."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from valetkey.core import jose
from valetkey.core.models import SigningKey
from valetkey.core.settings import Settings
from valetkey.store.protocol import Store

RELOAD_SECONDS = 30.0


def retire_after(settings: Settings) -> float:
    """A retired key stays published while anything it signed may still be valid (plus clock skew)."""
    return max(settings.access_token_ttl, settings.id_token_ttl) + 60


class KeyRing:
    def __init__(
        self, store: Store, *, retire_after: float, reload_seconds: float = RELOAD_SECONDS
    ) -> None:
        self.store = store
        self.retire_after = retire_after  # longest lifetime of anything a key signed
        self.reload_seconds = reload_seconds  # how stale this process's copy of the keys may be
        self._keys: list[SigningKey] = []
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self._jwks: dict[str, Any] = {"keys": []}
        self._verify_keys = jose.VerifyKeys(self._jwks)
        self._published: tuple[str, ...] = ()
        # The published set last computed holds, without a reload, from _settled[0] until
        # _settled[1] (the next reload or the end of a retired key's publication): in between,
        # verify_keys answers without recomputing it. The active key per alg, until a reload.
        self._settled = (float("inf"), float("-inf"))
        self._active: dict[str, Mapping[str, Any]] = {}

    def ensure(self, algs: tuple[str, ...], now: float) -> None:
        """Create an active key for each algorithm that has none (first start)."""
        self.reload(now)
        for alg in algs:
            if not any(k.active and k.alg == alg for k in self._keys):
                self.store.add_signing_key(_new_key(alg, now))
        self.reload(now)

    def reload(self, now: float) -> None:
        keys = self.store.list_signing_keys()
        with self._lock:
            self._keys = keys
            self._loaded_at = now
            self._settled = (float("inf"), float("-inf"))
            self._active = {}

    def loaded(self, algs: tuple[str, ...]) -> bool:
        """An active key for each of ``algs`` is held in memory (read nothing: readiness asks)."""
        with self._lock:
            return all(any(k.active and k.alg == alg for k in self._keys) for alg in algs)

    def _maybe_reload(self, now: float) -> None:
        if now - self._loaded_at >= self.reload_seconds:
            self.reload(now)

    def is_published(self, key: SigningKey, now: float) -> bool:
        """Active keys, and retired keys until everything they signed has expired."""
        return key.active or (
            key.retired_at is not None and now < key.retired_at + self.retire_after
        )

    def published(self, now: float) -> list[SigningKey]:
        self._maybe_reload(now)
        return [k for k in self._keys if self.is_published(k, now)]

    def refresh(self, now: float) -> None:
        """Re-read the keys if this copy is older than ``reload_seconds``. Endpoints call this before
        they open a store transaction, so signing (inside one) never reads the database."""
        self._maybe_reload(now)

    def active(self, alg: str, now: float) -> Mapping[str, Any]:
        known = self._active.get(alg)  # one per token: the choice below, once per reload
        if known is not None:
            return known
        candidates = [k for k in self._keys if k.active and k.alg == alg]
        if not candidates:
            self.reload(now)
            candidates = [k for k in self._keys if k.active and k.alg == alg]
            if not candidates:
                raise LookupError(f"no active {alg} signing key")
        chosen = self._active[alg] = max(candidates, key=lambda k: k.created_at).private_jwk
        return chosen

    def jwks(self, now: float) -> dict[str, Any]:
        self._maybe_reload(now)
        source = self._keys
        keys = [k for k in source if self.is_published(k, now)]
        kids = tuple(k.kid for k in keys)
        with self._lock:
            if kids != self._published:
                self._jwks = jose.jwks(k.private_jwk for k in keys)
                self._verify_keys = jose.VerifyKeys(self._jwks)
                self._published = kids
            if self._keys is source:  # not reloaded meanwhile (by another thread)
                ends = [
                    k.retired_at + self.retire_after
                    for k in keys
                    if not k.active and k.retired_at is not None
                ]
                self._settled = (now, min([self._loaded_at + self.reload_seconds, *ends]))
            return self._jwks

    def verify_keys(self, now: float) -> jose.VerifyKeys:
        """The published keys as key objects, imported once per key change (not per token)."""
        start, end = self._settled
        if start <= now < end:  # nothing can have changed: no reload due, no key leaving
            return self._verify_keys
        self.jwks(now)
        with self._lock:
            return self._verify_keys

    def rotate(self, alg: str, now: float) -> SigningKey:
        """A new active key for ``alg``; the old one is retired, and keys past retirement deleted."""
        key = _new_key(alg, now)
        self.store.add_signing_key(key, deactivate_others_of_alg=True)
        self.reload(now)
        for old in self._keys:
            if not old.active and not self.is_published(old, now):
                self.store.remove_signing_key(old.kid)
        self.reload(now)
        return key


def _new_key(alg: str, now: float) -> SigningKey:
    private = jose.generate_private_jwk(alg)
    return SigningKey(
        kid=str(private["kid"]), alg=alg, private_jwk=private, created_at=now, active=True
    )
