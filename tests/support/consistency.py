"""What a crash may not leave behind in the database: rows written by half a transaction."""

from __future__ import annotations

import sqlalchemy as sa

from valetkey.store.sql import normalize_url

# Each code, refresh token and grant-bound access token is written with its grant, in one
# transaction (``Store.save_all``): one without the other is half a write.
ORPHANS = {
    "codes without their grant": "SELECT count(*) FROM authorization_codes c "
    "LEFT JOIN grants g ON c.grant_id = g.grant_id WHERE g.grant_id IS NULL",
    "refresh tokens without their grant": "SELECT count(*) FROM refresh_tokens r "
    "LEFT JOIN grants g ON r.grant_id = g.grant_id WHERE g.grant_id IS NULL",
    "access tokens without their grant": "SELECT count(*) FROM access_tokens a "
    "LEFT JOIN grants g ON a.grant_id = g.grant_id "
    "WHERE a.grant_id IS NOT NULL AND g.grant_id IS NULL",
}


def count(url: str, query: str) -> int:
    """The single number ``query`` selects from the database at ``url``."""
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(query)).scalar_one())
    finally:
        engine.dispose()


def half_written(url: str) -> list[str]:
    """Everything wrong with the database at ``url``: SQLite's own integrity check, and orphans."""
    found = []
    engine = sa.create_engine(normalize_url(url))
    try:
        with engine.connect() as conn:
            if url.startswith("sqlite"):
                verdict = conn.execute(sa.text("PRAGMA integrity_check")).scalar_one()
                if verdict != "ok":
                    found.append(f"integrity_check: {verdict}")
            for what, query in ORPHANS.items():
                count = conn.execute(sa.text(query)).scalar_one()
                if count:
                    found.append(f"{count} {what}")
    finally:
        engine.dispose()
    return found
