"""A scratch database on the shared PostgreSQL server for longer than one test (a module, a session).

The ``pg_url`` fixture (tests/conftest.py) gives one per test; the fuzz suite builds a server once
per session and needs its database for as long.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from tests.conftest import PG_ADMIN_URL, _postgres_or_skip


@contextmanager
def scratch_database(prefix: str = "vk_test") -> Iterator[str]:
    _postgres_or_skip()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
