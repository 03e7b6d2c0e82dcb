"""device_codes: the Device Authorization Grant's pending, approved and consumed codes (RFC 8628)

Revision ID: 0005_device_codes
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_device_codes"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_codes",
        sa.Column("device_code_digest", sa.String(length=64), nullable=False),
        sa.Column("user_code_digest", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("audience", sa.Text(), nullable=False),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("poll_interval", sa.Integer(), nullable=False),
        sa.Column("last_poll_at", sa.Float(), nullable=True),
        sa.Column("sub", sa.String(length=255), nullable=True),
        sa.Column("grant_id", sa.String(length=64), nullable=True),
        sa.Column("auth_time", sa.Float(), nullable=True),
        sa.Column("denied_at", sa.Float(), nullable=True),
        sa.Column("consumed_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("device_code_digest"),
        sa.UniqueConstraint("user_code_digest"),
    )


def downgrade() -> None:
    op.drop_table("device_codes")
