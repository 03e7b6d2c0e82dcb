"""SQLite: the four tables written on every flow keep their rows in their primary-key B-tree

A SQLite table with a text primary key is two B-trees: the rows, under a hidden integer rowid, and
an index from the key to that rowid. Every new code, grant, access token and refresh token wrote a
page of each to the WAL. As WITHOUT ROWID tables, the rows live in the primary-key B-tree itself:
an authorization code flow writes 9 pages per flow instead of 13. PostgreSQL has no rowid: nothing
changes there.

Each table is rebuilt: renamed aside, created again under its name from its own statement plus
``WITHOUT ROWID`` (the same text the table definitions produce for a new database), its rows copied,
the old table dropped and its indexes created again.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

TABLES = ("grants", "authorization_codes", "access_tokens", "refresh_tokens")
SUFFIX = "\n WITHOUT ROWID\n\n"  # as SQLAlchemy writes it, and SQLite keeps it


def _rebuild(table: str, with_rowid: bool) -> None:
    conn = op.get_bind()

    def column(sql: str, **params: str) -> list[str]:
        return [str(r[0]) for r in conn.execute(sa.text(sql), params)]

    create = column("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t", t=table)[0]
    indexes = column(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL",
        t=table,
    )
    index_names = column(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL",
        t=table,
    )
    if create.endswith(SUFFIX) != with_rowid:
        return  # already in the wanted form
    create = create + SUFFIX if not with_rowid else create.removesuffix(SUFFIX)
    aside = f"_old_{table}"
    conn.execute(sa.text(f"ALTER TABLE {table} RENAME TO {aside}"))
    for name in index_names:
        conn.execute(sa.text(f"DROP INDEX {name}"))
    conn.execute(sa.text(create))
    conn.execute(sa.text(f"INSERT INTO {table} SELECT * FROM {aside}"))  # noqa: S608
    conn.execute(sa.text(f"DROP TABLE {aside}"))
    for sql in indexes:
        conn.execute(sa.text(sql))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            _rebuild(table, with_rowid=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            _rebuild(table, with_rowid=True)
