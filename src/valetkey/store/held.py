"""Rows a client comes to hold without a user's involvement (device codes, pushed authorization
requests), capped per client by ``core.throttle``'s cap: the client's rows are counted and the new
one written in one transaction. On PostgreSQL the transaction first takes a lock of the client's
(an advisory lock, released at commit), so that of two instances only one can take the last place;
SQLite's ``BEGIN IMMEDIATE`` already serializes writers."""

from __future__ import annotations

import hashlib
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from valetkey.core.throttle import Decision
from valetkey.store.protocol import CapDecide


def lock_client(conn: Connection, what: str, client_id: str) -> None:
    """Serialize, until this transaction ends, every writer of ``what`` for this client."""
    if conn.dialect.name != "postgresql":
        return
    name = hashlib.sha256(f"valetkey\x00{what}\x00{client_id}".encode()).digest()
    key = int.from_bytes(name[:8], "big", signed=True)
    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


def held(
    conn: Connection, table: sa.Table, client_id: str, now: float, *unfinished: Any
) -> tuple[int, float | None]:
    """The client's unexpired rows that match ``unfinished``: how many, and the earliest expiry."""
    query = sa.select(sa.func.count(), sa.func.min(table.c.expires_at)).where(
        table.c.client_id == client_id, table.c.expires_at > now, *unfinished
    )
    count, earliest = conn.execute(query).one()
    return int(count), None if earliest is None else float(earliest)


def admit(
    conn: Connection,
    table: sa.Table,
    client_id: str,
    now: float,
    cap: CapDecide | None,
    *unfinished: Any,
) -> Decision | None:
    """The cap's refusal of one more row for the client, or None when it may be written (in this
    transaction, which holds the client's lock until it ends)."""
    if cap is None:
        return None
    lock_client(conn, table.name, client_id)
    decision = cap(*held(conn, table, client_id, now, *unfinished))
    return None if decision.allowed else decision
