"""Liveness and readiness (docs/operations.md): ``/healthz`` never reads the database; ``/readyz``
names each check and answers 503 with ``Retry-After`` while one fails, and is back at 200 once it
passes, without a restart."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import InProcess
from tests.server.test_outage import FailingStore
from valetkey.core.errors import StorageUnavailable
from valetkey.server import health
from valetkey.store.migrate import HEAD


@pytest.fixture
def failing(server: InProcess) -> Iterator[FailingStore]:
    store = FailingStore(server.state.store)
    server.state.store = store  # type: ignore[assignment]
    yield store
    server.state.store = store.store


def states(body: dict[str, Any]) -> dict[str, str]:
    return {name: check["state"] for name, check in body["checks"].items()}


def test_liveness_answers_without_the_database(server: InProcess, failing: FailingStore) -> None:
    failing.error = StorageUnavailable("down")
    response = server.http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response.headers["cache-control"] == "no-store"


def test_ready_names_every_check(server: InProcess) -> None:
    response = server.http.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert states(body) == {"database": "ok", "migrations": "ok", "signing_keys": "ok"}
    assert "retry-after" not in response.headers


def test_unready_while_the_storage_is_down_and_ready_again_after(
    server: InProcess, failing: FailingStore
) -> None:
    failing.error = StorageUnavailable("connection refused")
    response = server.http.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == str(health.RETRY_AFTER)
    body = response.json()
    assert body["status"] == "unready"
    assert states(body) == {"database": "failed", "migrations": "unknown", "signing_keys": "ok"}
    assert "connection refused" not in response.text  # the driver's words go to the log only
    failing.error = None
    assert server.http.get("/readyz").status_code == 200


def test_a_database_that_does_not_answer_makes_it_unready_in_bounded_time(
    server: InProcess, failing: FailingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(health, "READY_TIMEOUT", 0.2)
    release, calls = threading.Event(), []
    real = failing.store.schema_revision

    def hanging() -> str | None:
        calls.append(1)
        release.wait(30)
        return real()

    monkeypatch.setattr(failing.store, "schema_revision", hanging)
    try:
        first = server.http.get("/readyz")
        second = server.http.get("/readyz")
    finally:
        release.set()
    for response in (first, second):
        assert response.status_code == 503
        assert response.json()["checks"]["database"]["detail"] == "no answer within 0.2 seconds"
    assert calls == [1]  # the second probe waited on the hung check instead of starting another


def test_a_database_behind_the_code_s_migrations_is_not_ready(server: InProcess) -> None:
    with server.store.engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    response = server.http.get("/readyz")
    assert response.status_code == 503
    check = response.json()["checks"]["migrations"]
    assert check == {
        "state": "failed",
        "detail": f"the database is at 0001; this code needs {HEAD}",
    }
