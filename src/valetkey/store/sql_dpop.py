"""The DPoP proofs seen (RFC 9449 §11.1): a ``core.dpop.JtiRegistry`` shared by every instance
that uses the database. Expired rows are purged now and then, by whichever instance is writing."""

from __future__ import annotations

import threading

from valetkey.store import statements as q
from valetkey.store.tx import Database

PURGE_EVERY = 512  # recorded proofs between two purges of expired rows, per process


class DPoPJtiTable:
    hot: Database
    _jti_lock = threading.Lock()
    _jti_count = 0

    def seen_before(self, key: str, expires_at: float, now: float) -> bool:
        """Record ``key`` until ``expires_at``; True if it was recorded and unexpired already."""
        with self.hot.write() as tx:
            recorded = tx.one(q.RECORD_DPOP_JTI, {"key": key, "expires_at": expires_at, "now": now})
            if self._purge_due():
                tx.run(q.PURGE_DPOP_JTI, {"now": now})
        return recorded is None

    def purge_dpop_jti(self, now: float) -> int:
        """Forget every proof that has expired; the number forgotten."""
        with self.hot.write() as tx:
            return tx.run(q.PURGE_DPOP_JTI, {"now": now})

    def _purge_due(self) -> bool:
        with DPoPJtiTable._jti_lock:
            DPoPJtiTable._jti_count += 1
            return DPoPJtiTable._jti_count % PURGE_EVERY == 0
