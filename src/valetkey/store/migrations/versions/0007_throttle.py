"""throttle: failed attempts per account, client and address, shared by every instance

One row per key (the digest of its kind and value): the failures counted and the end of the delay
they opened (core/throttle.py). WITHOUT ROWID on SQLite, like the other tables keyed by a digest.

Revision ID: 0007_throttle
Revises: 0006_dpop
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_throttle"
down_revision = "0006_dpop"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "throttle",
        sa.Column("key_digest", sa.String(64), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("blocked_until", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("throttle")
