"""`valetkey serve` processes started at the same moment on one fresh PostgreSQL database, as an
orchestrator starts them: all come up with the same keys, and a code raced on all of them is
redeemed once. (tests/faults/test_instances.py restarts them one by one and kills one under load.)"""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.lifecycle.conftest import FAST_BASE
from tests.lifecycle.helpers import code_tokens
from tests.support.flows import run_code_flow
from tests.support.serveproc import ServeProcess, at_once, start_together
from valetkey.core import jose

READY_SECONDS = 120.0  # three instances start at once on a shared, busy machine


def race_code(http: httpx.Client, bases: list[str], data: dict[str, str]) -> list[int]:
    """The same token request sent to every instance at the same moment; their statuses."""
    return at_once(bases, lambda base: http.post(f"{base}/token", data=data).status_code)


def test_instances_started_together_share_keys_and_redeem_a_code_once(
    tmp_path: Path, pg_url: str
) -> None:
    config = f'issuer = "http://valetkey.test"\ndatabase = "{pg_url}"\n{FAST_BASE}'
    servers = [ServeProcess(config, tmp_path) for _ in range(3)]
    try:
        start_together(servers, timeout=READY_SECONDS)
        bases = [s.base for s in servers]
        with httpx.Client(timeout=30) as http:
            jwks = [http.get(f"{base}/jwks.json").json() for base in bases]
            assert jwks[0] == jwks[1] == jwks[2] and jwks[0]["keys"]
            for _ in range(2):
                result = run_code_flow(http, bases[0])
                data = {
                    "grant_type": "authorization_code",
                    "code": result.params["code"],
                    "redirect_uri": "http://127.0.0.1:9999/callback",
                    "client_id": "cli",
                    "code_verifier": result.verifier or "",
                }
                assert race_code(http, bases, data) == [200, 400, 400]
            # A token issued by one instance verifies with the keys another publishes.
            tokens = code_tokens(http, bases[2], scope="read:profile")
            _, claims = jose.verify(tokens["access_token"], jwks[0])
            assert claims["iss"] == "http://valetkey.test"
    finally:
        for server in servers:
            server.stop()
