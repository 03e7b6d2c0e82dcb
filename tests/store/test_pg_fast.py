"""The psycopg path of the hot statements on PostgreSQL (``pg_fast``): what the contract suite
cannot see from outside. A connection the server closed while it sat in the pool is replaced
without an outage; a transaction that fails in its pipeline leaves nothing written and its
connection reusable; values come back exactly as written."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from tests.store.test_contract import accept, code, grant, tokens
from valetkey.core.models import Client, Grant, NewCode
from valetkey.store.pg_fast import PGDatabase
from valetkey.store.sql import SQLStore, open_store


@pytest.fixture
def pg_store(pg_url: str) -> Iterator[SQLStore]:
    store = open_store(pg_url)
    assert isinstance(store.hot, PGDatabase)
    yield store
    store.close()


def _backend_pids(store: SQLStore) -> set[int]:
    pids = set()
    for conn in store.hot.pool._idle:  # type: ignore[attr-defined]
        pids.add(conn.pgconn.backend_pid)
    return pids


def test_a_pooled_connection_the_server_closed_is_replaced_without_an_outage(
    pg_store: SQLStore,
) -> None:
    pg_store.upsert_client(Client("cli"))
    assert pg_store.get_client("cli") == Client("cli")
    pids = _backend_pids(pg_store)
    assert pids  # the read's connection went back to the pool
    admin = sa.create_engine(pg_store.engine.url, poolclass=sa.pool.NullPool)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for pid in pids:
            # With a timeout, pg_terminate_backend returns once the backend has exited.
            done = conn.execute(
                sa.text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}
            ).scalar()
            assert done
    admin.dispose()
    # Neither a read nor a write sees the dead connection: both run on a new one.
    assert pg_store.get_client("cli") == Client("cli")
    pg_store.save_all([NewCode(code(), grant())])
    assert pg_store.redeem_code("c1", 110.0, accept).access is not None
    assert not (_backend_pids(pg_store) & pids)


def test_a_failure_in_the_pipeline_writes_nothing_and_the_connection_serves_on(
    pg_store: SQLStore,
) -> None:
    pg_store.save_all([NewCode(code("c1", "g1"), grant("g1"))])
    # The new grant g5 and the duplicate g1 are queued together; g1 fails at the commit.
    with pytest.raises(psycopg.IntegrityError):
        pg_store.save_all([NewCode(code("c5", "g5"), grant("g5")), NewCode(code(), grant())])
    assert pg_store.get_grant("g5") is None
    assert len(pg_store.hot.pool._idle) == 1  # type: ignore[attr-defined]
    assert pg_store.redeem_code("c1", 110.0, accept).access is not None


def test_values_come_back_exactly(pg_store: SQLStore) -> None:
    exact = Grant(
        "g1",
        "cli",
        None,  # NULL
        ("read:files",),
        ("https://api",),
        1_700_000_000.123456789,  # every bit of the float
        flow_id="f1",
        auth_time=None,
        nonce="n\u00e9\u4e2d",  # beyond ASCII
    )
    pg_store.save_all([NewCode(code(), exact)])
    assert pg_store.get_grant("g1") == exact
    issued = pg_store.redeem_code("c1", 110.0, accept)
    assert issued == tokens("g1")
    assert pg_store.get_access_token("j1") == issued.access
    assert pg_store.get_refresh_token("r1") == issued.refresh


@pytest.mark.parametrize(("query", "seconds"), [("?connect_timeout=2", "2"), ("", "5")])
def test_the_urls_connect_timeout_is_kept_else_five_seconds(
    pg_url: str, query: str, seconds: str
) -> None:
    store = open_store(pg_url + query)
    try:
        assert store.get_client("nobody") is None
        conn = store.hot.pool._idle[0]  # type: ignore[attr-defined]
        assert conn.conn.info.get_parameters()["connect_timeout"] == seconds
    finally:
        store.close()
