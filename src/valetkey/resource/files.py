"""The demo API's own small SQLite database of files, one space per user or per client."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    content TEXT NOT NULL,
    created_at REAL NOT NULL,
    created_by_client TEXT
);
CREATE INDEX IF NOT EXISTS files_owner ON files (owner, id);
"""


@dataclass(frozen=True)
class File:
    id: int
    name: str
    content: str
    created_at: float
    created_by_client: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FileStore:
    """Thread-safe (one connection behind a lock); call it from a thread pool."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def list(self, owner: str) -> list[File]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, content, created_at, created_by_client FROM files "
                "WHERE owner = ? ORDER BY id",
                (owner,),
            ).fetchall()
        return [File(*row) for row in rows]

    def add(self, owner: str, name: str, content: str, client_id: str | None, now: float) -> File:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO files (owner, name, content, created_at, created_by_client) "
                "VALUES (?, ?, ?, ?, ?)",
                (owner, name, content, now, client_id),
            )
        return File(int(cursor.lastrowid or 0), name, content, now, client_id)

    def close(self) -> None:
        with self._lock:
            self._db.close()
