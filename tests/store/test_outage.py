"""A database that goes away is an outage, not a defect: the store raises StorageUnavailable (and
nothing else for it), a failed transaction leaves nothing written, and once the database is back
the same store object works again, without a restart."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from tests.store.test_contract import accept, code, grant, tokens
from tests.support.pgcluster import PrivateCluster, private_cluster
from valetkey.core.errors import StorageUnavailable
from valetkey.core.models import AuthorizationCode, Client, Issuance, LoginSession, NewCode
from valetkey.store import sqlite_fast
from valetkey.store.engine import normalize_url
from valetkey.store.sql import SQLStore, open_store


@pytest.fixture(scope="module")
def cluster() -> Iterator[PrivateCluster]:
    with private_cluster() as c:
        yield c


def new_database(cluster: PrivateCluster) -> str:
    return cluster.create_database(f"vk_{uuid.uuid4().hex[:12]}")


def every_kind_of_call(store: SQLStore, n: int) -> list[Callable[[], object]]:
    """A hot read, a hot write, an atomic step, a cold read and a cold write."""
    return [
        lambda: store.get_client("cli"),
        lambda: store.get_session_and_consent("d", "cli"),
        lambda: store.save_all([NewCode(code(f"out{n}", f"gout{n}"), grant(f"gout{n}"))]),
        lambda: store.redeem_code("c1", 110.0, accept),
        lambda: store.save_consent("sub-1", "cli", ("a",), 1.0),
        lambda: store.list_clients(),
        lambda: store.upsert_client(Client("other")),
    ]


def test_postgresql_stopped_then_started_again(cluster: PrivateCluster) -> None:
    store = open_store(new_database(cluster))
    try:
        store.upsert_client(Client("cli"))
        store.save_all([NewCode(code(), grant())])
        cluster.stop()
        try:
            for call in every_kind_of_call(store, 1):
                with pytest.raises(StorageUnavailable) as caught:
                    call()
                assert caught.value.status == 503 and caught.value.retry_after > 0
        finally:
            cluster.start()
        # The same store object, the next call: pooled connections are checked and replaced.
        assert store.get_client("cli") == Client("cli")
        assert store.redeem_code("c1", 110.0, accept).access is not None  # nothing was burnt
        for call in every_kind_of_call(store, 2)[:3]:
            call()
    finally:
        store.close()


def _kill_other_sessions(store: SQLStore) -> None:
    admin = sa.create_engine(store.engine.url, poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    admin.dispose()


def test_a_connection_lost_mid_transaction_writes_nothing(cluster: PrivateCluster) -> None:
    store = open_store(new_database(cluster))
    try:
        store.save_all([NewCode(code("mid", "gmid"), grant("gmid"))])

        def lose_the_connection(c: AuthorizationCode | None, replayed: bool) -> Issuance:
            assert c is not None and not replayed
            _kill_other_sessions(store)  # this transaction's session among them
            return tokens("gmid", "jmid", "rmid")

        with pytest.raises(StorageUnavailable):
            store.redeem_code("mid", 110.0, lose_the_connection)
        # Rolled back: no tokens, and the code was not consumed; the next call reconnects.
        assert store.get_access_token("jmid") is None and store.get_refresh_token("rmid") is None
        assert store.redeem_code("mid", 111.0, accept).access is not None
    finally:
        store.close()


def test_no_pooled_connection_in_time_is_an_outage(pg_url: str) -> None:
    open_store(pg_url).close()  # migrated
    engine = sa.create_engine(normalize_url(pg_url), pool_size=1, max_overflow=0, pool_timeout=0.1)
    store = SQLStore(engine)
    try:
        with store.db.connect():  # the only connection, held
            with pytest.raises(StorageUnavailable) as caught:
                store.get_client("cli")
            assert "pool" in caught.value.detail
        assert store.get_client("cli") is None  # free again
    finally:
        store.close()


def test_constraint_violations_and_bugs_are_not_outages(store: SQLStore) -> None:
    store.save_all([NewCode(code(), grant())])
    with pytest.raises(Exception) as caught:
        store.save_all([NewCode(code(), grant())])
    assert not isinstance(caught.value, StorageUnavailable)
    integrity = (sqlite3.IntegrityError, sa.exc.IntegrityError, psycopg.IntegrityError)
    assert isinstance(caught.value, integrity)

    def buggy(c: AuthorizationCode | None, replayed: bool) -> Issuance:
        raise KeyError("a bug in the decision")

    with pytest.raises(KeyError):
        store.redeem_code("c1", 110.0, buggy)
    assert store.redeem_code("c1", 111.0, accept).access is not None


@pytest.mark.parametrize("options", ["", "?timeout=30"], ids=["sqlite3", "sqlalchemy"])
def test_an_sqlite_file_that_cannot_be_opened_then_comes_back(tmp_path: Path, options: str) -> None:
    home = tmp_path / "data"
    home.mkdir()
    store = open_store(f"sqlite:///{home / 'store.db'}{options}")
    try:
        store.upsert_client(Client("cli"))
        store.close()  # no open connection left: the next call opens the file again
        home.rename(tmp_path / "elsewhere")
        try:
            for call in every_kind_of_call(store, 1):
                with pytest.raises(StorageUnavailable):
                    call()
        finally:
            (tmp_path / "elsewhere").rename(home)
        assert store.get_client("cli") == Client("cli")
        store.create_session("d", LoginSession("d", "sub-1", 1.0, 2.0))
        assert store.get_session("d") is not None
    finally:
        store.close()


def test_an_sqlite_write_lock_held_past_the_wait_is_an_outage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "store.db"
    store = open_store(f"sqlite:///{db}")
    monkeypatch.setattr(sqlite_fast, "BUSY_WAIT_SECONDS", 0.2)
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another process's write transaction that never ends
        with pytest.raises(StorageUnavailable) as caught:
            store.save_all([Issuance(tokens("g", "j-locked").access)])
        assert "busy" in caught.value.detail
        other.execute("ROLLBACK")
        store.save_all([Issuance(tokens("g", "j-locked").access)])
        assert store.get_access_token("j-locked") is not None
    finally:
        other.close()
        store.close()
