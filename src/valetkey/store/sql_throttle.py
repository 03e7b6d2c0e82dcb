"""The throttle's counts (core/throttle.py) in the database: every instance on it shares them."""

from __future__ import annotations

import random
from collections.abc import Callable

from valetkey.core.throttle import Count
from valetkey.store import statements as q
from valetkey.store.tx import Database

PRUNE_ONE_IN = 100  # of new failures, the share that also deletes every forgotten row


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
        their window ended start again at one."""
        stale = now - forget
        with self.hot.write() as tx:
            failures = int(
                tx.one(q.COUNT_THROTTLE_FAILURE, {"key": key, "now": now, "stale": stale})[0]
            )
            ends = window_end(failures)
            tx.run(q.SET_THROTTLE_WINDOW, {"key": key, "ends": ends})
            if failures == 1 and random.randrange(PRUNE_ONE_IN) == 0:  # noqa: S311
                tx.run(q.PRUNE_THROTTLE, {"stale": stale})
        return Count(failures, ends)

    def clear_throttle(self, key: str) -> None:
        with self.hot.write() as tx:
            tx.run(q.CLEAR_THROTTLE, {"key": key})
