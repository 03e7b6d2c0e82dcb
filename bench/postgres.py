"""valetkey on PostgreSQL: the bench's databases on 127.0.0.1:5432, and PostgreSQL's own CPU.

Each run drops and recreates its databases (``valetkey_bench``, ``valetkey_bench_ha``), so every
row starts from an empty schema like the SQLite rows. PostgreSQL serves each connection with a
backend process of its own (owned by the postgres user, outside the server's process tree): its CPU
is the utime+stime of the backends connected to the row's database, read from /proc and reported
apart from valetkey's.
"""

from __future__ import annotations

import os

from bench.procs import cpu_seconds

ADMIN_URL = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def database_url(name: str) -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + name


def _admin() -> object:
    import psycopg

    return psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5)


def recreate(name: str) -> str:
    """Drop ``name`` (closing its connections) and create it empty; its URL."""
    with _admin() as conn:  # type: ignore[attr-defined]
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def drop(name: str) -> None:
    with _admin() as conn:  # type: ignore[attr-defined]
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class BackendCPU:
    """A running total of the CPU seconds of the backends connected to one database.

    Each reading lists the database's backends (pg_stat_activity, on a connection to the admin
    database, so the meter's own backend is not counted) and reads their /proc stat; a backend seen
    before and gone since counts with its last reading. Read before and after a measured slice:
    the difference is PostgreSQL's work for that slice (WAL writer and checkpointer not included).
    """

    def __init__(self, database: str) -> None:
        self.database = database
        self.last: dict[int, float] = {}
        self._conn: object | None = None

    def pids(self) -> list[int]:
        if self._conn is None:
            self._conn = _admin()
        rows = self._conn.execute(  # type: ignore[attr-defined]
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,)
        ).fetchall()
        return [int(r[0]) for r in rows]

    def __call__(self) -> float:
        for pid in self.pids():
            if os.path.exists(f"/proc/{pid}"):  # gone meanwhile: its last reading stands
                self.last[pid] = max(self.last.get(pid, 0.0), cpu_seconds([pid]))
        return sum(self.last.values())

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()  # type: ignore[attr-defined]
            self._conn = None
