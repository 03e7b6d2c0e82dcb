"""Indexes for the flood defences (core/throttle.py's cap): a client's device codes and pushed
requests are counted by (client_id, expires_at) when a new one is stored; device codes are purged
by expires_at.

Revision ID: 0011_flood_caps
Revises: 0010_client_keys
"""

from __future__ import annotations

from alembic import op

revision = "0011_flood_caps"
down_revision = "0010_client_keys"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_device_codes_client_id_expires_at", "device_codes", ["client_id", "expires_at"]),
    ("ix_device_codes_expires_at", "device_codes", ["expires_at"]),
    ("ix_pushed_requests_client_id_expires_at", "pushed_requests", ["client_id", "expires_at"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
