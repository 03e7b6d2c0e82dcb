"""Client assertions across `valetkey serve` instances on one PostgreSQL database: an assertion
accepted by one instance is refused by the other (RFC 7523 §3 (7): check_assertion_jti_unused,
through the replay table every instance shares), for private_key_jwt and client_secret_jwt, and the
same new assertion sent to both at once is taken by exactly one."""

from __future__ import annotations

import functools
import secrets
import time
from pathlib import Path

import httpx

from tests.core import assertions as a
from tests.e2e.test_multi_instance import READY_SECONDS
from tests.lifecycle.conftest import FAST_BASE
from tests.server import jwt_clients as j
from tests.support.serveproc import ServeProcess, at_once, start_together

ISSUER = "http://valetkey.test"  # both instances publish this issuer: one audience for both


def claims(client_id: str) -> dict[str, object]:
    now = time.time()
    return {"iss": client_id, "sub": client_id, "aud": f"{ISSUER}/token",
            "jti": secrets.token_urlsafe(16), "iat": now, "exp": now + 60}  # fmt: skip


def cc(http: httpx.Client, base: str, assertion: str) -> httpx.Response:
    data = {"grant_type": "client_credentials", **j.fields(assertion)}
    return http.post(f"{base}/token", data=data)


def status_of(http: httpx.Client, assertion: str, base: str) -> int:
    return cc(http, base, assertion).status_code


def test_an_assertion_is_accepted_once_by_all_instances(tmp_path: Path, pg_url: str) -> None:
    config = (f'issuer = "{ISSUER}"\ndatabase = "{pg_url}"\n'
              f'client_secret_key = "{j.SEALING_KEY}"\n{FAST_BASE}\n{j.JWT_CLIENTS}')  # fmt: skip
    servers = [ServeProcess(config, tmp_path) for _ in range(2)]
    try:
        start_together(servers, timeout=READY_SECONDS)
        first, second = (s.base for s in servers)
        with httpx.Client(timeout=30) as http:
            for assertion in (a.signed(j.KEY, claims("svc-key")),
                              a.maced(j.MAC_SECRET, claims("svc-mac"))):  # fmt: skip
                taken = cc(http, first, assertion)
                assert taken.status_code == 200, taken.text
                again = cc(http, second, assertion)
                assert again.status_code == 401 and again.json()["error"] == "invalid_client"
                assert "already used" in again.json()["error_description"]
            for _ in range(3):
                fresh = a.signed(j.KEY, claims("svc-key"))
                send = functools.partial(status_of, http, fresh)
                assert at_once([first, second], send) == [200, 401]
    finally:
        for server in servers:
            server.stop()
