"""The SQLite store's driver-level write path: it waits for a write lock another connection holds,
and leaves WAL checkpoints to a background thread."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from valetkey.core.models import AccessTokenRecord, Issuance
from valetkey.store.sql import SQLStore, open_store
from valetkey.store.sqlite_fast import WAL_PAGES_BOUND, RawConnections, RawDatabase


def raw(store: SQLStore) -> RawConnections:
    """The store's driver-level connections: an SQLite file runs its statements on them."""
    assert isinstance(store.hot, RawDatabase)
    return store.hot.raw


def test_a_write_waits_for_the_lock_held_elsewhere_then_lands(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
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


def test_a_threads_first_write_waits_while_the_file_is_locked_elsewhere(tmp_path: Path) -> None:
    """A thread's writing connection is opened at its first write. Opening reads the schema, which
    another connection's lock refuses for a moment (as a WAL recovery does after the last
    connection closed): the write waits for it, it is no outage (a CI run saw one at random)."""
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")  # in WAL mode: holds the file until closed
    other.execute("SELECT 1 FROM access_tokens LIMIT 1").fetchall()
    released = threading.Event()

    def release() -> None:
        released.set()  # first: the writer cannot go on before the close below
        other.close()

    outcome: list[object] = []

    def first_write() -> None:
        record = AccessTokenRecord("j1", None, "svc", None, ("read",), ("https://api",), 1.0, 2.0)
        try:
            store.save_all([Issuance(access=record)])
            outcome.append(released.is_set())
        except Exception as exc:  # the failure is what the test reports
            outcome.append(exc)

    timer = threading.Timer(0.2, release)
    timer.start()
    try:
        writer = threading.Thread(target=first_write)  # a thread with no connection yet
        writer.start()
        writer.join()
        assert outcome == [True]  # it waited for the lock, then wrote
        assert store.get_access_token("j1") is not None
        # Once open, the writer still leaves waiting for a write lock to its own retries.
        assert raw(store).writer().execute("PRAGMA busy_timeout").fetchone()[0] == 0
    finally:
        timer.cancel()
        other.close()
        store.close()


def _issue(store: SQLStore, count: int, prefix: str = "j") -> None:
    for i in range(count):
        record = AccessTokenRecord(
            f"{prefix}{i:06d}", None, "svc", None, ("read",), ("https://api",), 1.0, 2.0
        )
        store.save_all([Issuance(access=record)])


def _wal_frames(db: Path) -> int:
    size = (db.parent / (db.name + "-wal")).stat().st_size
    return max(0, (size - 32) // (4096 + 24))  # WAL header, then frames of header + page


def test_commits_leave_checkpoints_to_the_background_thread(tmp_path: Path) -> None:
    """SQLite's default checkpoints on a commit past 1000 WAL pages, with that commit's caller (the
    event loop) waiting for the copy and two fdatasyncs. Here commits past 1000 pages do not copy
    anything into the database file; the checkpointer thread does, then the WAL starts over."""
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    checkpointer = raw(store).checkpointer
    checkpointer.interval = 3600  # not during the writes
    try:
        base_size = db.stat().st_size
        _issue(store, 1200)  # each commit writes at least one page to the WAL
        assert _wal_frames(db) > 1200
        assert db.stat().st_size == base_size  # no checkpoint ran on a commit
        assert checkpointer.wrote and checkpointer.checkpoints == 0
        with sqlite3.connect(db) as conn:
            checkpointer.checkpoint(conn)
        assert not checkpointer.wrote and checkpointer.checkpoints >= 1
        assert db.stat().st_size > base_size  # the pages are in the database file now
        frames_before = _wal_frames(db)
        _issue(store, 5, prefix="k")  # a fully copied WAL is overwritten from its start
        assert _wal_frames(db) == frames_before
        assert store.get_access_token("j000000") is not None
        assert store.get_access_token("k000004") is not None
    finally:
        store.close()


def test_the_checkpointer_runs_on_its_own_and_stops_with_the_store(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    checkpointer = raw(store).checkpointer
    checkpointer.interval = 0.05
    base_size = db.stat().st_size
    _issue(store, 300)
    thread = checkpointer._thread
    assert thread is not None and thread.is_alive()
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert checkpointer.checkpoints >= 1
    assert db.stat().st_size > base_size
    store.close()
    assert not thread.is_alive()
    # The store can still be used after close (it reopens), with a new checkpointer.
    _issue(store, 1, prefix="after")
    assert store.get_access_token("after000000") is not None
    store.close()


def test_every_connection_of_the_store_leaves_checkpoints_to_the_thread(tmp_path: Path) -> None:
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    try:
        with store.engine.connect() as conn:  # the SQLAlchemy path's connections too
            driver = conn.connection.driver_connection
            assert driver is not None
            assert driver.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_PAGES_BOUND
        for conn in (raw(store).get(), raw(store).writer()):
            assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_PAGES_BOUND
    finally:
        store.close()


def test_reads_share_the_writing_connection_and_wait_elsewhere_when_refused(
    tmp_path: Path,
) -> None:
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    _issue(store, 1)
    raw(store).close()  # reopened on first use below, while the lock is held
    # Reads and writes go through one connection per thread (it keeps its page cache).
    assert store.get_access_token("j000000") is not None
    assert getattr(raw(store)._local, "writer", None) is not None
    assert getattr(raw(store)._local, "conn", None) is None
    store.close()
    store.engine.dispose()
    other = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    other.execute("PRAGMA locking_mode=EXCLUSIVE")  # refuses every other reader until closed
    other.execute("BEGIN IMMEDIATE")
    other.execute("CREATE TABLE elsewhere (x)")
    other.execute("COMMIT")
    timer = threading.Timer(0.3, other.close)
    timer.start()
    try:
        began = time.monotonic()
        assert store.get_access_token("j000000") is not None  # waited, then read
        assert time.monotonic() - began >= 0.2
    finally:
        timer.cancel()
        store.close()


def test_none_and_bools_bind_as_without_the_registered_adapters() -> None:
    """``sqlite_fast`` registers C adapters for None and bool (a shortcut past sqlite3's adaptation
    protocol, on importing it): NULL, 1 and 0, as sqlite3 binds them by itself."""
    conn = sqlite3.connect(":memory:")
    try:
        row = conn.execute(
            "SELECT ?, typeof(?), ?, typeof(?), ?", (None, None, True, True, False)
        ).fetchone()
        assert row == (None, "null", 1, "integer", 0)
    finally:
        conn.close()
