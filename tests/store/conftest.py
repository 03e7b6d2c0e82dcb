"""Every store test runs on each way the store executes its statements: the sqlite3 driver on an
SQLite file (``sqlite_fast``), SQLAlchemy on SQLite, and SQLAlchemy on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from valetkey.store.sql import SQLStore, open_store


@pytest.fixture(params=["sqlite", "sqlite-sqlalchemy", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if request.param == "sqlite-sqlalchemy":  # a URL with options stays on SQLAlchemy
        return f"sqlite:///{tmp_path / 'store.db'}?timeout=30"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[SQLStore]:
    s = open_store(store_url)
    yield s
    s.close()
