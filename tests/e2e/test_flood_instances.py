"""The flood defences across instances: two `valetkey serve` processes on one PostgreSQL database
share each client's cap on pending device codes and unused pushed requests (counted in the
database, core/throttle.py's cap), so spreading a flood over a load balancer's instances stores no
more rows. (The per-address rate across instances, with a clock that stands still, is in
tests/server/test_flood.py; three processes racing for the last place in
tests/store/test_races.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import BASE_CONFIG
from tests.e2e.test_multi_instance import READY_SECONDS
from tests.lifecycle.conftest import FAST_BASE
from tests.support.device import DEVICE_CONFIG
from tests.support.serveproc import running_together
from valetkey.core import pkce
from valetkey.store.engine import normalize_url

pytestmark = pytest.mark.e2e

TOP = (
    'issuer = "http://valetkey.test"\n'
    "device_codes_per_client = 3\npushed_requests_per_client = 3\n"
    "pushed_request_ttl = 600\n"  # no request expires while the test runs
)
DEVICE_CLIENTS = DEVICE_CONFIG[len(BASE_CONFIG) :]
REDIRECT = "http://127.0.0.1:9999/callback"


@pytest.fixture
def instances(tmp_path: Path, pg_url: str) -> Iterator[tuple[str, str]]:
    config = f'database = "{pg_url}"\n{TOP}{FAST_BASE}{DEVICE_CLIENTS}'
    with running_together(config, tmp_path, timeout=READY_SECONDS) as (first, second):
        yield first, second


def device(base: str) -> httpx.Response:
    data = {"client_id": "tv", "scope": "read:files"}
    return httpx.post(f"{base}/device_authorization", data=data, timeout=30)


def push(base: str) -> httpx.Response:
    data = {"response_type": "code", "client_id": "cli", "redirect_uri": REDIRECT,
            "scope": "read:profile", "state": "st",
            "code_challenge": pkce.s256(pkce.new_verifier()), "code_challenge_method": "S256"}  # fmt: skip
    return httpx.post(f"{base}/par", data=data, timeout=30)


def stored(pg_url: str, table: str) -> int:
    engine = sa.create_engine(normalize_url(pg_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def refused(r: httpx.Response, ttl: int) -> None:
    assert r.status_code == 429, r.text
    assert 0 < int(r.headers["retry-after"]) <= ttl
    assert r.json()["error"] == "invalid_request"
    assert "the most this server keeps for one client" in r.json()["error_description"]


def test_a_clients_cap_holds_across_two_instances(instances: tuple[str, str], pg_url: str) -> None:
    a, b = instances
    # Device codes: two on A, one on B; then neither instance stores a fourth.
    assert [device(base).status_code for base in (a, b, a)] == [200, 200, 200]
    refused(device(b), 600)
    refused(device(a), 600)
    assert stored(pg_url, "device_codes") == 3
    # Pushed requests: the same, the other way round.
    assert [push(base).status_code for base in (b, a, b)] == [201, 201, 201]
    refused(push(a), 600)
    refused(push(b), 600)
    assert stored(pg_url, "pushed_requests") == 3
