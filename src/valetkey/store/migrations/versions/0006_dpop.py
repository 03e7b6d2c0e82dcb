"""DPoP (RFC 9449): the key a refresh token or an authorization code is bound to, and the proofs seen

``refresh_tokens.dpop_jkt`` (§5: a public client's refresh token is bound to its DPoP key) and
``authorization_codes.dpop_jkt`` (§10: ``dpop_jkt`` on the authorization request) hold a JWK SHA-256
thumbprint (43 characters). ``dpop_jti`` remembers each proof's replay key until it expires
(§11.1), for every instance sharing the database.

Revision ID: 0006_dpop
Revises: 0005_device_codes
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_dpop"
down_revision = "0005_device_codes"
branch_labels = None
depends_on = None


BOUND = ("authorization_codes", "refresh_tokens")
COLUMN = "\n\tdpop_jkt VARCHAR(64), "
KEY = "\n\tPRIMARY KEY ("


def _add_on_sqlite(table: str) -> None:
    """SQLite's ADD COLUMN writes the column into the stored CREATE text on the line before; the
    table is rebuilt instead (as migration 0003 does), so that a migrated database's schema is the
    text a new database gets from the table definitions."""
    conn = op.get_bind()

    def column(sql: str) -> list[str]:
        return [str(r[0]) for r in conn.execute(sa.text(sql), {"t": table})]

    create = column("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t")[0]
    indexes = column(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
    )
    names = column(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t AND sql IS NOT NULL"
    )
    if COLUMN in create:
        return
    aside = f"_old_{table}"
    conn.execute(sa.text(f"ALTER TABLE {table} RENAME TO {aside}"))
    for name in names:
        conn.execute(sa.text(f"DROP INDEX {name}"))
    conn.execute(sa.text(create.replace(KEY, COLUMN + KEY, 1)))
    conn.execute(sa.text(f"INSERT INTO {table} SELECT *, NULL FROM {aside}"))  # noqa: S608
    conn.execute(sa.text(f"DROP TABLE {aside}"))
    for sql in indexes:
        conn.execute(sa.text(sql))


def upgrade() -> None:
    for table in BOUND:
        if op.get_bind().dialect.name == "sqlite":
            _add_on_sqlite(table)
        else:
            op.add_column(table, sa.Column("dpop_jkt", sa.String(64)))
    op.create_table(
        "dpop_jti",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_dpop_jti_expires_at", "dpop_jti", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_dpop_jti_expires_at", table_name="dpop_jti")
    op.drop_table("dpop_jti")
    with op.batch_alter_table("refresh_tokens") as batch:
        batch.drop_column("dpop_jkt")
    with op.batch_alter_table("authorization_codes") as batch:
        batch.drop_column("dpop_jkt")
