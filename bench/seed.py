"""Scale: put N stored grants into valetkey's SQLite database directly (fast, not through HTTP).

Each grant gets what a real one has after a code flow: the grant row, its refresh token (a digest)
and its access token record, for a spread of users and the benchmark's clients.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from pathlib import Path

CHUNK = 20_000


def count_grants(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM grants").fetchone()[0])


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included), through SQLite's backup API."""
    target.unlink(missing_ok=True)
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    with sqlite3.connect(target) as conn:
        conn.execute("PRAGMA journal_mode=WAL")


def seed_grants(db: Path, total: int) -> float:
    """Top the grants table up to ``total`` rows; returns the seconds it took."""
    began = time.perf_counter()
    have = count_grants(db)
    now = time.time()
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA synchronous=OFF")
        while have < total:
            n = min(CHUNK, total - have)
            grants, refresh, access = [], [], []
            for i in range(have, have + n):
                gid = secrets.token_hex(16)
                sub, client = f"seed-user-{i % 50_000}", ("bench-native", "bench-web")[i % 2]
                grants.append((gid, client, sub, "read", "https://api.bench.test", now, "", now))
                digest = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
                refresh.append((digest, gid, client, "read", now, now + 1_209_600))
                access.append(
                    (
                        secrets.token_hex(16),
                        gid,
                        client,
                        sub,
                        "read",
                        "https://api.bench.test",
                        now,
                        now + 600,
                    )
                )
            conn.executemany(
                "INSERT INTO grants (grant_id, client_id, sub, scope, audience, created_at,"
                " flow_id, auth_time) VALUES (?,?,?,?,?,?,?,?)",
                grants,
            )
            conn.executemany(
                "INSERT INTO refresh_tokens (token_digest, grant_id, client_id, scope, issued_at,"
                " expires_at) VALUES (?,?,?,?,?,?)",
                refresh,
            )
            conn.executemany(
                "INSERT INTO access_tokens (jti, grant_id, client_id, sub, scope, audience,"
                " issued_at, expires_at) VALUES (?,?,?,?,?,?,?,?)",
                access,
            )
            conn.commit()
            have += n
    finally:
        conn.close()
    return time.perf_counter() - began
