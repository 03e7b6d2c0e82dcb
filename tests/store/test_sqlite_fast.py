"""The SQLite store's driver-level write path waits for a write lock another connection holds."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from valetkey.core.models import AccessTokenRecord, Issuance
from valetkey.store.sql import open_store
from valetkey.store.sqlite_fast import FastSQLiteStore


def test_a_write_waits_for_the_lock_held_elsewhere_then_lands(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    assert isinstance(store, FastSQLiteStore)
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # another process's write transaction, in effect
    released = threading.Event()

    def release() -> None:
        other.execute("COMMIT")
        released.set()

    timer = threading.Timer(0.2, release)
    timer.start()
    try:
        record = AccessTokenRecord("j1", None, "svc", None, ("read",), ("https://api",), 1.0, 2.0)
        store.save_all([Issuance(access=record)])
        assert released.is_set()  # it waited (with its own retries), it did not fail
        assert store.get_access_token("j1") == record
    finally:
        timer.cancel()
        other.close()
        store.close()
