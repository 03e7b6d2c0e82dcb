"""Two ``valetkey serve --inspector`` instances on one PostgreSQL database: one inspector shows the
flows of both, a restart keeps them, and the retention limit prunes the table."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.inspector.test_serve_inspector import (
    alice_login,
    client_credentials,
    config,
    flows,
    flows_when,
)
from tests.support.pgdb import scratch_database
from tests.support.serveproc import ServeProcess

pytestmark = [pytest.mark.postgres, pytest.mark.e2e]


def kinds_of(shown: list[dict[str, Any]]) -> set[tuple[str | None, str | None]]:
    return {(f["client_id"], f["user"]) for f in shown}


BOTH = {("svc", None), ("cli", "alice")}


def both_shown(shown: list[dict[str, Any]]) -> bool:
    return kinds_of(shown) >= BOTH


@pytest.fixture
def database() -> Iterator[str]:
    with scratch_database("vk_inspector") as url:
        yield url


def instances(url: str, workdir: Path, extra: str = "") -> list[ServeProcess]:
    text = extra + config(url)
    return [ServeProcess(text, workdir, args=("--inspector",)) for _ in range(2)]


def test_one_inspector_shows_the_flows_of_both_instances_and_keeps_them(
    database: str, tmp_path: Path
) -> None:
    a, b = instances(database, tmp_path)
    try:
        a.start()
        b.start()
        client_credentials(a.base)  # on instance A
        alice_login(b.base)  # on instance B
        for server in (a, b):
            assert both_shown(flows_when(server.base, both_shown)), server.base
        a.stop()
        b.stop()  # no instance left: what the restarted one shows comes from the database
        a.start()
        assert both_shown(flows(a.base))
    finally:
        a.stop()
        b.stop()


def test_retention_keeps_the_newest_events(database: str, tmp_path: Path) -> None:
    server = ServeProcess(
        "inspector_keep_events = 3\n" + config(database), tmp_path, args=("--inspector",)
    )
    engine = sa.create_engine(database.replace("postgresql://", "postgresql+psycopg://"))
    try:
        server.start()
        for _ in range(6):
            client_credentials(server.base)
        flows_when(server.base, lambda shown: len(shown) >= 6)  # every event has been written
        with engine.connect() as conn:
            ids = [r[0] for r in conn.execute(sa.text("SELECT id FROM events ORDER BY id"))]
        assert len(ids) == 3
        server.stop()
        server.start()
        shown = flows(server.base)
        assert 1 <= len(shown) <= 3 and {f["client_id"] for f in shown} == {"svc"}
    finally:
        server.stop()
        engine.dispose()
