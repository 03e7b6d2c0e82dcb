"""throttle.forget_at: when a key's failures are forgotten, indexed, so that pruning is bounded

Forgotten rows were deleted by one statement filtering on ``blocked_until``, without an index: a
scan of the whole table under the write lock, on a table an attack fills with keys. Each row now
carries its own ``forget_at`` (the end of its window plus its kind's ``forget``: a rate's key goes a
minute after its window, an account's an hour after its delay), and prunes delete at most a few
hundred rows, oldest first, found by ``ix_throttle_forget_at``.

The rows already there get ``blocked_until`` plus BACKFILL_SECONDS (a day, longer than the
default ``throttle_forget``): they may stay a little longer than needed, never go early (whether a
failure still counts is decided from ``blocked_until`` and the configured ``throttle_forget``).

Revision ID: 0012_throttle_forget_at
Revises: 0011_flood_caps
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_throttle_forget_at"
down_revision = "0011_flood_caps"
branch_labels = None
depends_on = None

BACKFILL_SECONDS = 86400
INDEX = "ix_throttle_forget_at"
COLUMN = "\n\tforget_at FLOAT NOT NULL, "
KEY = "\n\tPRIMARY KEY ("


def _rebuild_on_sqlite(add: bool) -> None:
    """SQLite's ADD COLUMN writes the column into the stored CREATE text on the line before; the
    table is rebuilt instead (as migrations 0003 and 0006 do), so that a migrated database's schema
    is the text a new database gets from the table definitions. WITHOUT ROWID is kept."""
    conn = op.get_bind()
    create = str(
        conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'throttle'")
        ).scalar_one()
    )
    if (COLUMN in create) == add:
        return
    conn.execute(sa.text("ALTER TABLE throttle RENAME TO _old_throttle"))
    if add:
        conn.execute(sa.text(create.replace(KEY, COLUMN + KEY, 1)))
        conn.execute(
            sa.text(
                "INSERT INTO throttle (key_digest, failures, blocked_until, forget_at)"
                " SELECT key_digest, failures, blocked_until, blocked_until + :backfill"
                " FROM _old_throttle"
            ),
            {"backfill": BACKFILL_SECONDS},
        )
    else:
        conn.execute(sa.text(create.replace(COLUMN, "", 1)))
        conn.execute(
            sa.text(
                "INSERT INTO throttle (key_digest, failures, blocked_until)"
                " SELECT key_digest, failures, blocked_until FROM _old_throttle"
            )
        )
    conn.execute(sa.text("DROP TABLE _old_throttle"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(add=True)
    else:
        op.add_column("throttle", sa.Column("forget_at", sa.Float, nullable=True))
        op.execute(
            sa.text("UPDATE throttle SET forget_at = blocked_until + :backfill").bindparams(
                backfill=BACKFILL_SECONDS
            )
        )
        op.alter_column("throttle", "forget_at", nullable=False)
    op.create_index(INDEX, "throttle", ["forget_at"])


def downgrade() -> None:
    op.drop_index(INDEX, table_name="throttle")
    if op.get_bind().dialect.name == "sqlite":
        _rebuild_on_sqlite(add=False)
    else:
        op.drop_column("throttle", "forget_at")
