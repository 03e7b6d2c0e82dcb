"""clients.secret_sealed: a client_secret_jwt client's secret, sealed with AES-256-GCM under the
server's client_secret_key (never in the database); private_key_jwt keys live in the metadata

Revision ID: 0010_client_keys
Revises: 0009_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_client_keys"
down_revision = "0009_events"
branch_labels = None
depends_on = None


COLUMN = "\n\tsecret_sealed TEXT, "
KEY = "\n\tPRIMARY KEY ("


def _add_on_sqlite() -> None:
    """As 0006 does: SQLite's ADD COLUMN writes the column onto the line before in the stored
    CREATE text, so the table is rebuilt with the text a new database gets (``clients`` has no
    secondary index)."""
    conn = op.get_bind()
    query = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'clients'"
    create = str(conn.execute(sa.text(query)).scalar_one())
    if COLUMN in create:
        return
    conn.execute(sa.text("ALTER TABLE clients RENAME TO _old_clients"))
    conn.execute(sa.text(create.replace(KEY, COLUMN + KEY, 1)))
    conn.execute(sa.text("INSERT INTO clients SELECT *, NULL FROM _old_clients"))
    conn.execute(sa.text("DROP TABLE _old_clients"))


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _add_on_sqlite()
    else:
        op.add_column("clients", sa.Column("secret_sealed", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.drop_column("secret_sealed")
