"""events: the flow inspector's events, kept across restarts and shared by every instance

Revision ID: 0009_events
Revises: 0008_par
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_events"
down_revision = "0008_par"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("flow_id", sa.String(length=64), nullable=False),
        sa.Column("time", sa.Float(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_events_time", "events", ["time"])


def downgrade() -> None:
    op.drop_index("ix_events_time", table_name="events")
    op.drop_table("events")
