"""access tokens: index grant_id only where there is one

Client-credentials access tokens have no grant. Indexing their NULL grant_id made every such token
write one more B-tree page per commit, for an index that only ever serves ``grant_id = ?``
(revoking a grant's tokens). A partial index keeps that lookup and skips those rows.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_HAS_GRANT = sa.text("grant_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_access_tokens_grant_id", table_name="access_tokens")
    op.create_index(
        "ix_access_tokens_grant_id",
        "access_tokens",
        ["grant_id"],
        sqlite_where=_HAS_GRANT,
        postgresql_where=_HAS_GRANT,
    )


def downgrade() -> None:
    op.drop_index("ix_access_tokens_grant_id", table_name="access_tokens")
    op.create_index("ix_access_tokens_grant_id", "access_tokens", ["grant_id"])
