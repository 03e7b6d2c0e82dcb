"""Two `valetkey serve` processes sharing one PostgreSQL database: one code, two instances, at once."""

from __future__ import annotations

import threading
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.conftest import BASE_CONFIG
from tests.support.flows import run_code_flow
from tests.support.servers import auth_server
from valetkey.core import jose


def _post(
    client: httpx.Client,
    data: dict[str, str | None],
    barrier: threading.Barrier,
    statuses: list[int],
) -> None:
    barrier.wait()
    statuses.append(client.post("/token", data=data).status_code)


def test_two_instances_share_state_and_a_code_is_redeemed_once(tmp_path: Path, pg_url: str) -> None:
    config = f'issuer = "http://valetkey.test"\ndatabase = "{pg_url}"\n' + BASE_CONFIG
    with ExitStack() as stack:
        # Both start at once against an empty database: migrations take turns on an advisory lock.
        bases = [stack.enter_context(auth_server(config, tmp_path)) for _ in range(2)]
        a, b = (
            stack.enter_context(httpx.Client(base_url=base, follow_redirects=False, timeout=20))
            for base in bases
        )
        assert a.get("/jwks.json").json() == b.get("/jwks.json").json()

        for _ in range(3):
            result = run_code_flow(a, bases[0])
            data = {
                "grant_type": "authorization_code",
                "code": result.params["code"],
                "redirect_uri": "http://127.0.0.1:9999/callback",
                "client_id": "cli",
                "code_verifier": result.verifier,
            }
            barrier = threading.Barrier(2)
            statuses: list[int] = []

            threads = [
                threading.Thread(target=_post, args=(c, data, barrier, statuses)) for c in (a, b)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert sorted(statuses) == [200, 400]

        # A token issued by one instance verifies with the keys the other publishes.
        result = run_code_flow(b, bases[1])
        r = b.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": result.params["code"],
                "redirect_uri": "http://127.0.0.1:9999/callback",
                "client_id": "cli",
                "code_verifier": result.verifier,
            },
        )
        _, claims = jose.verify(r.json()["access_token"], a.get("/jwks.json").json())
        assert claims["iss"] == "http://valetkey.test"
