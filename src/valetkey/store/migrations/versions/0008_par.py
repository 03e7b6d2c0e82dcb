"""pushed_requests: Pushed Authorization Requests (RFC 9126), by the digest of their request_uri

Revision ID: 0008_par
Revises: 0007_throttle
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_par"
down_revision = "0007_throttle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pushed_requests",
        sa.Column("request_digest", sa.String(64), primary_key=True),
        sa.Column("client_id", sa.String(255), nullable=False),
        sa.Column("params", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
        sa.Column("used_at", sa.Float, nullable=True),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_pushed_requests_expires_at", "pushed_requests", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_pushed_requests_expires_at", table_name="pushed_requests")
    op.drop_table("pushed_requests")
