"""The throttle's counts in the store (core/throttle.py), on every way the store runs statements."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import settings_from
from valetkey.core.clock import FixedClock
from valetkey.core.throttle import Count
from valetkey.server.throttle import Throttle
from valetkey.store import statements as q
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


def _key(i: int) -> str:
    return f"{i:064d}"


def _remembered(store: SQLStore, *keys: str) -> list[bool]:
    return [store.get_throttle(k, k)[0] is not None for k in keys]


def test_a_prune_removes_exactly_the_forgotten_rows(store: SQLStore) -> None:
    """Each row goes when its own failures are forgotten (its window's end plus its kind's
    ``forget``), whatever the ``forget`` of the failure that prunes: a rate's minute-long keys
    never take an account's hour-long failures with them."""
    store.count_throttle_failure(A, 1000.0, 60, _window)  # window ends 1010: forgotten at 1070
    store.count_throttle_failure(B, 1000.0, 3600, _window)  # forgotten at 4610
    rate = _key(1)
    store.count_throttle_failure(rate, 1000.0, 60, lambda _: 1060.0)  # forgotten at 1120
    assert store.prune_throttle(1069.0) == 0
    assert store.prune_throttle(1070.0) == 1  # at forget_at: core.throttle.remembered says 0
    assert _remembered(store, A, B, rate) == [False, True, True]
    assert store.prune_throttle(1120.0) == 1
    assert _remembered(store, A, B, rate) == [False, True, False]
    assert store.get_throttle(B, B)[0] == Count(1, 1010.0)
    assert store.prune_throttle(4609.0) == 0
    assert store.prune_throttle(4610.0) == 1
    assert _remembered(store, B) == [False]


def test_a_prune_deletes_at_most_its_limit_oldest_first(store: SQLStore) -> None:
    live = [_key(100 + i) for i in range(3)]
    for i in range(25):  # forgotten at 1060 + i
        store.count_throttle_failure(_key(i), 1000.0, 60, lambda _, i=i: 1000.0 + i)
    for key in live:
        store.count_throttle_failure(key, 1000.0, 3600, _window)
    now = 2000.0
    assert store.prune_throttle(now, limit=10) == 10
    assert _remembered(store, *(_key(i) for i in range(25))) == [False] * 10 + [True] * 15
    assert store.prune_throttle(now, limit=10) == 10
    assert store.prune_throttle(now, limit=10) == 5
    assert store.prune_throttle(now, limit=10) == 0
    assert _remembered(store, *live) == [True] * 3


def test_a_first_failure_prunes_now_and_then_within_the_bound(
    store: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prune a first failure runs (one in PRUNE_ONE_IN) takes at most PRUNE_LIMIT rows."""
    from valetkey.store import sql_throttle

    for i in range(7):
        store.count_throttle_failure(_key(i), 1000.0, 60, lambda _, i=i: 1000.0 + i)
    monkeypatch.setattr(sql_throttle, "PRUNE_LIMIT", 3)
    monkeypatch.setattr(sql_throttle.random, "randrange", lambda _: 0)  # this one prunes
    later = lambda _: 2010.0  # noqa: E731
    store.count_throttle_failure(A, 2000.0, 60, later)
    assert _remembered(store, *(_key(i) for i in range(7))) == [False] * 3 + [True] * 4
    store.count_throttle_failure(A, 2001.0, 60, later)  # not a first failure: no prune
    assert _remembered(store, *(_key(i) for i in range(7))) == [False] * 3 + [True] * 4
    store.count_throttle_failure(B, 2001.0, 60, later)
    assert _remembered(store, *(_key(i) for i in range(7))) == [False] * 6 + [True]
    assert _remembered(store, A, B) == [True, True]


def test_the_prune_finds_forgotten_rows_by_their_index_on_sqlite(tmp_path: Path) -> None:
    import sqlite3

    open_store(f"sqlite:///{tmp_path / 'store.db'}").close()
    conn = sqlite3.connect(tmp_path / "store.db")
    try:
        plan = [
            r[-1]
            for r in conn.execute("EXPLAIN QUERY PLAN " + q.PRUNE_THROTTLE.sqlite.text, (1.0, 10))
        ]
    finally:
        conn.close()
    assert any("USING COVERING INDEX ix_throttle_forget_at (forget_at<?)" in p for p in plan), plan
    assert any("USING PRIMARY KEY (key_digest=?)" in p for p in plan), plan
    assert not any(p.startswith("SCAN") for p in plan), plan  # no whole-table scan


def test_the_prune_finds_forgotten_rows_by_their_index_on_postgresql(pg_url: str) -> None:
    """With rows enough for the planner to care (and their statistics), the prune's predicate is
    an index condition on ix_throttle_forget_at, not a filter over a sequential scan."""
    import sqlalchemy as sa

    open_store(pg_url).close()
    engine = sa.create_engine(pg_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO throttle (key_digest, failures, blocked_until, forget_at)"
                    " SELECT md5(i::text), 1, i, i + 60 FROM generate_series(1, 5000) i"
                )
            )
            conn.execute(sa.text("ANALYZE throttle"))
            text = q.PRUNE_THROTTLE.construct.text  # type: ignore[attr-defined]
            plan = "\n".join(
                str(r[0])
                for r in conn.execute(sa.text("EXPLAIN " + text), {"now": 1000.0, "limit": 500})
            )
    finally:
        engine.dispose()
    assert "Index Scan using ix_throttle_forget_at" in plan, plan
    assert "Index Cond: (forget_at <=" in plan, plan
