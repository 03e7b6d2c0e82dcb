from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from valetkey.store import migrate, schema
from valetkey.store.sql import make_engine


def test_head_constant_matches_the_migration_scripts() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert script.get_current_head() == migrate.HEAD


def _migrated(path: Path) -> sa.Engine:
    """A database built by the migrations themselves (an explicit first revision, then head); a
    new file upgraded straight to head is created from the table definitions instead."""
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine, "0001")
    migrate.upgrade(engine)
    return engine


def test_migrations_create_exactly_the_schema(tmp_path: Path) -> None:
    engine = _migrated(tmp_path / "m.db")
    assert migrate.current_revision(engine) == migrate.HEAD
    inspector = sa.inspect(engine)
    for table in schema.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    engine.dispose()


def test_the_access_token_grant_index_is_partial_and_used(tmp_path: Path) -> None:
    """Migration 0002: grant-less (client-credentials) tokens are not indexed, and the lookup that
    revokes a grant's tokens still uses the index."""
    engine = _migrated(tmp_path / "m.db")
    with engine.connect() as conn:
        sql = conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE name = 'ix_access_tokens_grant_id'")
        ).scalar()
        assert sql is not None and "WHERE grant_id IS NOT NULL" in sql
        plan = " ".join(
            str(row[-1])
            for row in conn.execute(
                sa.text(
                    "EXPLAIN QUERY PLAN UPDATE access_tokens SET revoked_at = 1 "
                    "WHERE grant_id = 'g' AND revoked_at IS NULL"
                )
            )
        )
        assert "ix_access_tokens_grant_id" in plan, plan
    engine.dispose()


def test_a_0001_database_upgrades_to_the_partial_index(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine, "0001")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO access_tokens (jti, grant_id, client_id, scope, audience, issued_at,"
                " expires_at) VALUES ('j1', NULL, 'c', 's', 'a', 1, 2), ('j2', 'g', 'c', 's', 'a', 1, 2)"
            )
        )
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.HEAD
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM access_tokens")).scalar() == 2
        sql = conn.execute(
            sa.text("SELECT sql FROM sqlite_master WHERE name = 'ix_access_tokens_grant_id'")
        ).scalar()
        assert "WHERE grant_id IS NOT NULL" in str(sql)
    engine.dispose()


def _schema(engine: sa.Engine) -> dict[tuple[str, str], str]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
        )
        return {(r[0], r[1]): r[2] for r in rows}


def test_a_new_sqlite_database_gets_the_migrations_schema_without_alembic(tmp_path: Path) -> None:
    """A fresh SQLite file is created from the table definitions and stamped (no Alembic at
    start-up): it must be exactly what running every migration builds, and stay upgradable."""
    import subprocess
    import sys

    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    code = (
        "import sys\n"
        "from valetkey.store import migrate\n"
        "from valetkey.store.sql import make_engine\n"
        f"migrate.upgrade(make_engine({fresh_url!r}))\n"
        "assert 'alembic' not in sys.modules, 'Alembic was loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    fresh = make_engine(fresh_url)
    migrated = _migrated(tmp_path / "migrated.db")
    assert migrate.current_revision(fresh) == migrate.HEAD
    assert _schema(fresh) == _schema(migrated)
    migrate.upgrade(fresh)  # at head: nothing to do, and nothing breaks
    assert migrate.current_revision(fresh) == migrate.HEAD
    fresh.dispose()
    migrated.dispose()


def test_a_database_with_tables_but_no_version_is_left_to_the_migrations(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE unrelated (x INTEGER)"))
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.HEAD
    assert ("table", "unrelated") in _schema(engine)
    engine.dispose()


TOKEN_TABLES = ("grants", "authorization_codes", "access_tokens", "refresh_tokens")


def _without_rowid(engine: sa.Engine) -> dict[str, bool]:
    with engine.connect() as conn:
        return {
            name: str(
                conn.execute(
                    sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"),
                    {"t": name},
                ).scalar()
            )
            .rstrip()
            .endswith("WITHOUT ROWID")
            for name in TOKEN_TABLES
        }


def test_0003_rebuilds_the_token_tables_without_rowid_and_keeps_their_rows(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine, "0002")
    assert _without_rowid(engine) == dict.fromkeys(TOKEN_TABLES, False)
    rows = {
        "grants": "INSERT INTO grants (grant_id, client_id, sub, scope, audience, created_at)"
        " VALUES ('g1', 'c', 'alice', 'read', 'https://api', 1)",
        "authorization_codes": "INSERT INTO authorization_codes (code_digest, grant_id, client_id,"
        " redirect_uri, redirect_uri_given, sub, scope, audience, flow_id, issued_at, expires_at,"
        " auth_time) VALUES ('d1', 'g1', 'c', 'https://c/cb', 1, 'alice', 'read', 'https://api',"
        " 'f', 1, 2, 1)",
        "access_tokens": "INSERT INTO access_tokens (jti, grant_id, client_id, scope, audience,"
        " issued_at, expires_at) VALUES ('j1', 'g1', 'c', 'read', 'https://api', 1, 2)",
        "refresh_tokens": "INSERT INTO refresh_tokens (token_digest, grant_id, client_id, scope,"
        " issued_at, expires_at) VALUES ('r1', 'g1', 'c', 'read', 1, 2)",
    }
    with engine.begin() as conn:
        for sql in rows.values():
            conn.execute(sa.text(sql))
    before = _schema(engine)

    def contents() -> dict[str, list[tuple[object, ...]]]:
        with engine.connect() as conn:
            return {
                name: [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {name}"))]
                for name in TOKEN_TABLES
            }

    kept = contents()
    migrate.upgrade(engine, "0003")  # later revisions add columns (0006_dpop: tested below)
    assert migrate.current_revision(engine) == "0003"
    assert _without_rowid(engine) == dict.fromkeys(TOKEN_TABLES, True)
    assert contents() == kept
    after = _schema(engine)
    later = {"ix_events_time"}  # the indexes of tables that later migrations add
    assert {k for k in after if k[0] == "index" and k[1] not in later} == {
        k for k in before if k[0] == "index"
    }
    with engine.connect() as conn:  # the primary key is still enforced
        try:
            conn.execute(sa.text(rows["grants"]))
        except sa.exc.IntegrityError:
            pass
        else:
            raise AssertionError("a duplicate grant_id was accepted")
    from alembic import command

    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "0002")
        conn.commit()
    assert _without_rowid(engine) == dict.fromkeys(TOKEN_TABLES, False)
    assert contents() == kept
    assert _schema(engine) == before
    engine.dispose()


def test_0006_binds_codes_and_refresh_tokens_and_keeps_their_rows(tmp_path: Path) -> None:
    """Migration 0006_dpop adds dpop_jkt (NULL for the rows already there: not bound) and the
    dpop_jti table, and goes back down."""
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine, "0003")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO refresh_tokens (token_digest, grant_id, client_id, scope,"
                " issued_at, expires_at) VALUES ('r1', 'g1', 'c', 'read', 1, 2)"
            )
        )
    migrate.upgrade(engine)
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT token_digest, dpop_jkt FROM refresh_tokens")).one()
        assert tuple(row) == ("r1", None)
        conn.execute(sa.text("SELECT key, expires_at FROM dpop_jti")).all()
    from alembic import command

    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "0003")
        conn.commit()
    columns = {c["name"] for c in sa.inspect(engine).get_columns("refresh_tokens")}
    assert "dpop_jkt" not in columns
    assert "dpop_jti" not in sa.inspect(engine).get_table_names()
    engine.dispose()


THROTTLE_ROWS = [("k1", 3, 1000.0), ("k2", 7, 2000.5)]


def _throttle_rows(engine: sa.Engine, *columns: str) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        select = f"SELECT {', '.join(columns)} FROM throttle ORDER BY key_digest"
        return [tuple(r) for r in conn.execute(sa.text(select))]


def _throttle_0012_up_and_down(engine: sa.Engine) -> None:
    """From 0011 (rows already counted) up to 0012 and back: every row kept, each forgotten a day
    after its window at the latest (the backfill), the index there and gone again."""
    from alembic import command

    migrate.upgrade(engine, "0011_flood_caps")
    with engine.begin() as conn:
        for key, failures, until in THROTTLE_ROWS:
            conn.execute(
                sa.text("INSERT INTO throttle VALUES (:k, :f, :u)"),
                {"k": key, "f": failures, "u": until},
            )
    migrate.upgrade(engine, "0012_throttle_forget_at")
    assert _throttle_rows(engine, "key_digest", "failures", "blocked_until", "forget_at") == [
        (k, f, u, u + 86400) for k, f, u in THROTTLE_ROWS
    ]
    indexes = {i["name"]: i["column_names"] for i in sa.inspect(engine).get_indexes("throttle")}
    assert indexes == {"ix_throttle_forget_at": ["forget_at"]}
    with engine.connect() as conn:
        command.downgrade(migrate.alembic_config(conn), "0011_flood_caps")
        conn.commit()
    assert _throttle_rows(engine, "*") == THROTTLE_ROWS
    assert sa.inspect(engine).get_indexes("throttle") == []
    migrate.upgrade(engine)  # and up again, to head
    assert migrate.current_revision(engine) == migrate.HEAD
    assert len(_throttle_rows(engine, "forget_at")) == len(THROTTLE_ROWS)


def test_0012_indexes_when_throttle_rows_are_forgotten_and_keeps_them_on_sqlite(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate.upgrade(engine, "0011_flood_caps")
    before = _schema(engine)
    _throttle_0012_up_and_down(engine)
    with engine.connect() as conn:
        from alembic import command

        command.downgrade(migrate.alembic_config(conn), "0011_flood_caps")
        conn.commit()
    assert _schema(engine) == before  # the very table text 0011 had (WITHOUT ROWID kept)
    engine.dispose()


def test_0012_indexes_when_throttle_rows_are_forgotten_and_keeps_them_on_postgresql(
    pg_url: str,
) -> None:
    engine = make_engine(pg_url)
    _throttle_0012_up_and_down(engine)
    engine.dispose()
