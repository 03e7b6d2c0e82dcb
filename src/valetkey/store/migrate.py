"""Apply the Alembic migrations on start. Several instances may start at once on PostgreSQL: an
advisory lock makes them take turns."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
_LOCK_ID = 0x76616C6574  # "valet"
# The newest revision in migrations/versions (tests/store/test_migrations.py keeps this in step):
# a database already there starts without loading Alembic at all.
HEAD = "0012_throttle_forget_at"


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


# Alembic's own version table, as it creates it (the schema test compares the two paths).
_VERSION_TABLE = (
    "CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n"
    "\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)"
)


def upgrade(engine: Engine, revision: str = "head") -> None:
    if revision == "head":
        current = current_revision(engine)
        if current == HEAD:
            return
        if current is None and engine.dialect.name == "sqlite" and _create_fresh(engine):
            return
    from alembic import command

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
            conn.commit()
        try:
            command.upgrade(alembic_config(conn), revision)
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
                conn.commit()


def _create_fresh(engine: Engine) -> bool:
    """A new, empty SQLite database gets the head schema from the table definitions, stamped with
    HEAD, in one write transaction: the same tables and indexes the migrations build (a test
    compares the two databases), without loading Alembic, which is most of a first start's cost.
    False when the database is not empty (another process got there first, or an unversioned
    database): the migrations then decide."""
    from valetkey.store.schema import metadata

    with engine.connect() as conn:
        conn.info["write"] = (
            True  # BEGIN IMMEDIATE: one process creates, the others wait, then see it
        )
        try:
            with conn.begin():
                if sa.inspect(conn).get_table_names():
                    return False
                metadata.create_all(conn, checkfirst=False)
                conn.execute(sa.text(_VERSION_TABLE))
                conn.execute(
                    sa.text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": HEAD}
                )
        finally:
            conn.info.pop("write", None)
    return True
