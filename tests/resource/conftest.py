"""Real processes for the resource server tests: an authorization server on a SQLite file we can also
open (to read or rotate its keys), and the demo API in front of it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import BASE_CONFIG, SVC_SECRET
from tests.support.flows import run_code_flow
from tests.support.servers import auth_server, free_port, running
from valetkey.core import jose
from valetkey.store.sql import open_store

AUDIENCE = "https://api.valetkey.test"
RS_CLIENT = "api-rs"
RS_SECRET = "api-rs-secret-0123456789abcdefghijklmnopqrstuvwxyz"
REDIRECT = "http://127.0.0.1:9999/callback"
RS_CLIENT_CONFIG = f"""
[[clients]]
client_id = "{RS_CLIENT}"
client_name = "Demo API (resource server)"
client_secret = "{RS_SECRET}"
grant_types = ["client_credentials"]
"""


def as_config(db: Path) -> str:
    return f'database = "sqlite:///{db}"\n' + BASE_CONFIG + RS_CLIENT_CONFIG


@dataclass
class AS:
    base: str
    db: Path

    def service_token(self, scope: str = "read:files") -> str:
        r = httpx.post(
            f"{self.base}/token",
            data={"grant_type": "client_credentials", "scope": scope},
            auth=("svc", SVC_SECRET),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def user_tokens(
        self, scope: str, username: str = "alice", password: str = "wonderland"
    ) -> dict[str, Any]:
        with httpx.Client() as http:
            result = run_code_flow(
                http,
                self.base,
                client_id="cli",
                redirect_uri=REDIRECT,
                scope=scope,
                username=username,
                password=password,
            )
            assert "code" in result.params, result.params
            r = http.post(
                f"{self.base}/token",
                data={
                    "grant_type": "authorization_code",
                    "code": result.params["code"],
                    "redirect_uri": REDIRECT,
                    "client_id": "cli",
                    "code_verifier": result.verifier,
                },
            )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def user_token(self, scope: str, **kwargs: str) -> str:
        return str(self.user_tokens(scope, **kwargs)["access_token"])

    def active_key(self) -> dict[str, Any]:
        store = open_store(f"sqlite:///{self.db}")
        try:
            keys = [k for k in store.list_signing_keys() if k.active and k.alg == "ES256"]
            return dict(max(keys, key=lambda k: k.created_at).private_jwk)
        finally:
            store.close()

    def forge(self, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A token signed with the server's real key, with chosen claims (for the negative cases)."""
        now = int(time.time())
        body = {
            "iss": self.base,
            "sub": "alice-sub",
            "aud": AUDIENCE,
            "exp": now + 300,
            "iat": now,
            "jti": f"j{time.monotonic_ns()}",
            "client_id": "cli",
            "scope": "read:profile read:files",
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jose.sign(body, self.active_key(), typ=(header or {}).get("typ", "at+jwt"))


@pytest.fixture(scope="session")
def auth(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AS]:
    workdir = tmp_path_factory.mktemp("as")
    db = workdir / "as.db"
    with auth_server(as_config(db), workdir) as base:
        yield AS(base, db)


def resource_args(auth: AS, port: int, data_dir: Path, *extra: str) -> list[str]:
    return [
        "resource",
        "--issuer",
        auth.base,
        "--audience",
        AUDIENCE,
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        "--log-events",
        *extra,
    ]


@pytest.fixture(scope="session")
def api(auth: AS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The demo API in JWT mode."""
    workdir = tmp_path_factory.mktemp("rs")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(resource_args(auth, port, workdir), f"{base}/", workdir):
        yield base
