"""The throttle's counts in the store (core/throttle.py), on every way the store runs statements."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from tests.conftest import settings_from
from valetkey.core.clock import FixedClock
from valetkey.core.throttle import Count
from valetkey.server.throttle import Throttle
from valetkey.store.sql import SQLStore, open_store

A, B = "a" * 64, "b" * 64


def _window(failures: int) -> float:
    return 1000.0 + 10 * failures


def test_failures_count_up_per_key_and_both_keys_are_read_at_once(store: SQLStore) -> None:
    assert store.get_throttle(A, B) == (None, None)
    assert store.count_throttle_failure(A, 1000.0, 60, _window) == Count(1, 1010.0)
    assert store.count_throttle_failure(A, 1001.0, 60, _window) == Count(2, 1020.0)
    assert store.count_throttle_failure(B, 1002.0, 60, _window) == Count(1, 1010.0)
    assert store.get_throttle(A, B) == (Count(2, 1020.0), Count(1, 1010.0))
    assert store.get_throttle(B, A) == (Count(1, 1010.0), Count(2, 1020.0))


def test_a_success_clears_one_key_only(store: SQLStore) -> None:
    store.count_throttle_failure(A, 1000.0, 60, _window)
    store.count_throttle_failure(B, 1000.0, 60, _window)
    store.clear_throttle(A)
    assert store.get_throttle(A, B) == (None, Count(1, 1010.0))


def test_failures_forgotten_start_again_at_one(store: SQLStore) -> None:
    for _ in range(3):
        store.count_throttle_failure(A, 1000.0, 60, _window)  # window ends at 1030
    assert store.count_throttle_failure(A, 1089.0, 60, _window).failures == 4  # not yet forgotten
    # the window of the fourth ended at 1040: forgotten from 1100
    assert store.count_throttle_failure(A, 1100.0, 60, _window) == Count(1, 1010.0)


def test_a_rate_counts_each_minute_on_its_own(store: SQLStore) -> None:
    """core/throttle.py's rate on these counts (server.throttle.Throttle.count_request): each
    request counted atomically in its minute's key; past the limit, refused until the minute ends;
    the next minute starts at zero."""
    clock = FixedClock(6_000.0 + 20)  # 20 s into a minute
    settings = settings_from(device_authorizations_per_minute=3)
    throttle = Throttle(settings, store, clock, "salt")
    decisions = [throttle.count_request("device_authorization", "192.0.2.1") for _ in range(5)]
    assert [(d.allowed, d.wait, d.failures) for d in decisions if d is not None] == [
        (True, 0, 1), (True, 0, 2), (True, 0, 3), (False, 40, 4), (False, 40, 5)
    ]  # fmt: skip
    other = throttle.count_request("device_authorization", "192.0.2.2")
    assert other is not None and other.allowed  # another address: its own count
    pushed = throttle.count_request("pushed_request", "192.0.2.1")
    assert pushed is not None and pushed.allowed  # another kind: its own count
    clock.advance(40)
    again = throttle.count_request("device_authorization", "192.0.2.1")
    assert again is not None and (again.allowed, again.failures) == (True, 1)


def test_a_key_no_row_can_hold_finds_nothing(store: SQLStore) -> None:
    assert store.get_throttle("nul\x00", B) == (None, None)


def count_together(backends: Sequence[Any], each: int) -> list[Any]:
    """``each`` failures of key A counted by every backend at once, from a thread each; the
    errors raised (reported, not lost in the threads)."""
    errors: list[Any] = []

    def hammer(backend: Any) -> None:
        try:
            for _ in range(each):
                backend.count_throttle_failure(A, 1000.0, 60, _window)
        except BaseException as exc:
            errors.append(getattr(exc, "detail", exc))

    threads = [threading.Thread(target=hammer, args=(b,)) for b in backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_failures_counted_at_once_by_two_instances_all_count(pg_url: str) -> None:
    """Two stores on one PostgreSQL database (two instances): no failure is lost to a race."""
    stores = [open_store(pg_url), open_store(pg_url)]
    try:
        assert count_together(stores, 20) == []
        assert stores[0].get_throttle(A, B)[0] == Count(40, _window(40))
    finally:
        for s in stores:
            s.close()
