"""``/readyz`` follows the database: a real ``valetkey serve`` on a private PostgreSQL cluster is
ready, turns unready (503, ``Retry-After``, the database check failed) within the probe's bound
once the cluster stops, and ready again once it is back, without a restart; ``/healthz`` answers
200 all along (an orchestrator must not restart a process for its database's outage)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import config_for
from tests.support.pgcluster import private_cluster
from tests.support.serveproc import ServeProcess

pytestmark = [pytest.mark.faults, pytest.mark.postgres, pytest.mark.e2e]


def probe(http: httpx.Client) -> httpx.Response:
    return http.get("/readyz")


def until(http: httpx.Client, status: int, timeout: float = 30.0) -> httpx.Response:
    """Probe as an orchestrator does, until the answer has ``status`` (or the time is up)."""
    deadline = time.monotonic() + timeout
    while True:
        response = probe(http)
        if response.status_code == status or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_ready_unready_and_ready_again_across_a_postgres_outage(tmp_path: Path) -> None:
    with private_cluster() as cluster:
        url = cluster.create_database("valetkey")
        server = ServeProcess(config_for(url), tmp_path).start()
        try:
            # Each probe gets the time the server gives its database check, and more.
            with httpx.Client(base_url=server.base, timeout=10) as http:
                ready = probe(http)
                assert ready.status_code == 200, ready.text
                assert ready.json()["status"] == "ready"

                cluster.stop()
                unready = until(http, 503)
                assert unready.status_code == 503, unready.text
                assert unready.headers["retry-after"].isdigit()
                body = unready.json()
                assert body["status"] == "unready"
                assert body["checks"]["database"]["state"] == "failed"
                assert body["checks"]["signing_keys"]["state"] == "ok"
                alive = http.get("/healthz")
                assert alive.status_code == 200 and alive.json() == {"status": "alive"}

                cluster.start()
                cluster.wait_accepting()
                again = until(http, 200)
                assert again.status_code == 200, again.text
                assert {c["state"] for c in again.json()["checks"].values()} == {"ok"}
            assert server.alive()  # the same process throughout
        finally:
            server.stop()
