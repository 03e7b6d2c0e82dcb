"""The throttle's counts (core/throttle.py) in the database: every instance on it shares them."""

from __future__ import annotations

import random
from collections.abc import Callable

from valetkey.core.throttle import Count
from valetkey.store import statements as q
from valetkey.store.tx import Database

# Of first failures (a new key, or one whose failures were forgotten), the share that also prunes:
# deletes forgotten rows, at most PRUNE_LIMIT of them, oldest first (ix_throttle_forget_at). Each
# first failure adds at most one row, which is forgotten once; a prune per PRUNE_ONE_IN of them,
# each removing up to PRUNE_LIMIT, keeps up five times over and drains a backlog (after an attack,
# or an upgrade) a bounded slice at a time, never holding the write lock for a whole-table scan.
PRUNE_ONE_IN = 100
PRUNE_LIMIT = 500


class ThrottleTables:
    hot: Database

    def get_throttle(self, first: str, second: str) -> tuple[Count | None, Count | None]:
        """The counts stored for two key digests, in one read (None for a key without any)."""
        row = self.hot.one(q.GET_THROTTLE, {"a": first, "b": second})
        if row is None:  # a key no row can hold
            return None, None
        a = Count(row.a_failures, row.a_until) if row.a_failures is not None else None
        b = Count(row.b_failures, row.b_until) if row.b_failures is not None else None
        return a, b

    def count_throttle_failure(
        self, key: str, now: float, forget: float, window_end: Callable[[int], float]
    ) -> Count:
        """Count one failure for ``key`` (atomically, across instances) and store the end of the
        window it opens, ``window_end(failures)``; failures forgotten ``forget`` seconds after
        their window ended start again at one. The row may be pruned from then on
        (``forget_at``)."""
        with self.hot.write() as tx:
            failures = int(
                tx.one(q.COUNT_THROTTLE_FAILURE, {"key": key, "now": now, "stale": now - forget})[0]
            )
            ends = window_end(failures)
            tx.run(q.SET_THROTTLE_WINDOW, {"key": key, "ends": ends, "forget_at": ends + forget})
            if failures == 1 and random.randrange(PRUNE_ONE_IN) == 0:  # noqa: S311
                tx.run(q.PRUNE_THROTTLE, {"now": now, "limit": PRUNE_LIMIT})
        return Count(failures, ends)

    def prune_throttle(self, now: float, limit: int = PRUNE_LIMIT) -> int:
        """Delete at most ``limit`` rows forgotten at ``now``, oldest first; how many went. (A
        first failure does this now and then; rows still remembered are never touched.)"""
        with self.hot.write() as tx:
            return tx.run(q.PRUNE_THROTTLE, {"now": now, "limit": limit})

    def clear_throttle(self, key: str) -> None:
        with self.hot.write() as tx:
            tx.run(q.CLEAR_THROTTLE, {"key": key})
