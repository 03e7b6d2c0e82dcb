"""Validated tokens cached by SHA-256 digest until they expire (the token itself is never kept)."""

from __future__ import annotations

import hashlib
from typing import Generic, TypeVar

V = TypeVar("V")


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("ascii", "replace")).digest()


class DigestCache(Generic[V]):
    def __init__(self, max_entries: int = 10_000) -> None:
        self.max_entries = max_entries
        self._items: dict[bytes, tuple[float, V]] = {}

    def get(self, key: bytes, now: float) -> V | None:
        hit = self._items.get(key)
        if hit is None:
            return None
        if now >= hit[0]:
            self._items.pop(key, None)
            return None
        return hit[1]

    def put(self, key: bytes, value: V, until: float, now: float) -> None:
        if until <= now or self.max_entries <= 0:
            return
        if len(self._items) >= self.max_entries:
            self._evict(now)
        self._items[key] = (until, value)

    def _evict(self, now: float) -> None:
        live = {k: v for k, v in self._items.items() if v[0] > now}
        if len(live) >= self.max_entries:  # still full: drop the oldest half (insertion order)
            live = dict(list(live.items())[len(live) // 2 :])
        self._items = live

    def __len__(self) -> int:
        return len(self._items)
