"""The throttle's counts in the store (core/throttle.py), on every way the store runs statements."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from valetkey.core.throttle import Count
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
