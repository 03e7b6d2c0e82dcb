"""DPoP across `valetkey serve` instances on one PostgreSQL database: a proof is accepted once by all
of them together (RFC 9449 §11.1, the dpop_jti table), and a nonce one instance hands out is taken
by another (§8: the nonce secret is shared through the store)."""

from __future__ import annotations

import functools
import time
from pathlib import Path

import httpx

from tests.conftest import SVC_SECRET
from tests.e2e.test_multi_instance import READY_SECONDS
from tests.lifecycle.conftest import FAST_BASE
from tests.support.serveproc import ServeProcess, at_once, start_together
from valetkey.client.dpop import DPoPKey

ISSUER = "http://valetkey.test"  # both instances publish this token endpoint: one htu for both


def cc(http: httpx.Client, base: str, proof: str) -> httpx.Response:
    return http.post(
        f"{base}/token",
        data={"grant_type": "client_credentials"},
        auth=("svc", SVC_SECRET),
        headers={"DPoP": proof},
    )


def status_of(http: httpx.Client, proof: str, base: str) -> int:
    return cc(http, base, proof).status_code


def test_a_proof_is_single_use_across_instances_and_nonces_are_shared(
    tmp_path: Path, pg_url: str
) -> None:
    config = f'issuer = "{ISSUER}"\ndatabase = "{pg_url}"\ndpop_nonce_required = true\n{FAST_BASE}'
    servers = [ServeProcess(config, tmp_path) for _ in range(2)]
    try:
        start_together(servers, timeout=READY_SECONDS)
        a, b = (s.base for s in servers)
        key = DPoPKey.generate()
        with httpx.Client(timeout=30) as http:
            asked = cc(http, a, key.proof("POST", f"{ISSUER}/token", now=time.time()))
            assert asked.status_code == 400 and asked.json()["error"] == "use_dpop_nonce"
            nonce = asked.headers["DPoP-Nonce"]
            # Instance B takes instance A's nonce; a proof used at B is refused at A.
            proof = key.proof("POST", f"{ISSUER}/token", now=time.time(), nonce=nonce)
            first = cc(http, b, proof)
            assert first.status_code == 200 and first.json()["token_type"] == "DPoP", first.text
            again = cc(http, a, proof)
            assert again.status_code == 400 and again.json()["error"] == "invalid_dpop_proof"
            assert "already used" in again.json()["error_description"]
            # The same new proof sent to both at the same moment: exactly one instance takes it.
            for _ in range(3):
                fresh = key.proof("POST", f"{ISSUER}/token", now=time.time(), nonce=nonce)
                statuses = at_once([a, b], functools.partial(status_of, http, fresh))
                assert statuses == [200, 400]
    finally:
        for server in servers:
            server.stop()
