"""What the store's methods run on: a database that executes the statements of ``statements``.

Three implementations: ``engine.SADatabase`` (SQLAlchemy: SQLite in memory or with URL options),
``sqlite_fast.RawDatabase`` (the sqlite3 driver on SQLite files) and ``pg_fast.PGDatabase`` (the
psycopg driver on PostgreSQL). Both raise ``StorageUnavailable``
for an outage (``outage``), find nothing for a key no row can hold and refuse to write such text
(``text``), and roll a write transaction back when its block raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from typing import Any, Protocol

from valetkey.store.statements import Insert, Statement


class Tx(Protocol):
    """One open write transaction."""

    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        """The first row ``stmt`` returns (attribute access by column name), or None."""
        ...

    def run(self, stmt: Statement, params: Mapping[str, Any]) -> int:
        """Execute ``stmt``; for an UPDATE or DELETE, the number of rows it changed."""
        ...

    def add(self, stmt: Statement, params: Mapping[str, Any]) -> None:
        """Execute ``stmt``, whose result the block does not need: it may leave with the commit
        (PostgreSQL's pipeline), and its failure then fails the commit."""
        ...

    def insert(self, stmt: Insert, row: tuple[Any, ...]) -> None:
        """``add`` of one new row, its values in ``stmt.columns`` order (``rows``)."""
        ...


class Database(Protocol):
    def one(self, stmt: Statement, params: Mapping[str, Any]) -> Any:
        """A read of one row (or None) in a snapshot of its own."""
        ...

    def write(self) -> AbstractContextManager[Tx]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        ...

    def close(self) -> None: ...
