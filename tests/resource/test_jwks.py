"""Key rotation at a real authorization server: the API refetches the JWK Set on an unknown kid,
at most once per cooldown, and tokens signed by the retired key keep verifying."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.resource.conftest import AS, AUDIENCE, as_config, resource_args
from tests.support.servers import auth_server, free_port, running
from valetkey.core import jose
from valetkey.core.checks import Rejected
from valetkey.core.clock import FixedClock
from valetkey.core.events import RecordingSink
from valetkey.resource import JWTValidator


@pytest.fixture
def rotating_as(tmp_path: Path) -> Iterator[tuple[AS, Path]]:
    """An authorization server that rereads its keys on every request (key_reload_seconds = 0)."""
    db = tmp_path / "as.db"
    port = free_port()
    with auth_server("key_reload_seconds = 0\n" + as_config(db), tmp_path, port=port) as base:
        yield AS(base, db), tmp_path / f"server-{port}.toml"


def rotate(config: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "valetkey",
            "keys",
            "rotate",
            "--alg",
            "ES256",
            "--config",
            str(config),
        ],
        check=True,
        capture_output=True,
    )


def kid(token: str) -> str:
    return str(jose.unverified_parts(token)[0]["kid"])


def call(api: str, token: str) -> httpx.Response:
    return httpx.get(f"{api}/api/files", headers={"Authorization": f"Bearer {token}"})


def test_the_api_follows_a_key_rotation(rotating_as: tuple[AS, Path], tmp_path: Path) -> None:
    auth, config = rotating_as
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    args = resource_args(auth, port, tmp_path, "--jwks-cooldown", "0.2")
    with running(args, f"{api}/", tmp_path):
        old, old_unused = auth.service_token(), auth.service_token()
        assert call(api, old).status_code == 200
        time.sleep(0.3)  # let the 0.2 s refetch cooldown pass (no timing is asserted)
        rotate(config)
        new = auth.service_token()
        assert kid(new) != kid(old)
        r = call(api, new)
        assert r.status_code == 200, r.text  # refetched the key set for the unknown kid
        assert call(api, old_unused).status_code == 200  # the retired key is still published
    log = next(tmp_path.glob("proc-resource-*.log")).read_text()
    assert log.count('"event": "jwks.fetched"') == 2
    assert f"unknown kid '{kid(new)}'" in log


def _run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def stranger_token(auth: AS) -> str:
    now = int(time.time())
    claims = {
        "iss": auth.base,
        "sub": "x",
        "aud": AUDIENCE,
        "exp": now + 300,
        "iat": now,
        "jti": "j",
        "client_id": "svc",
    }
    return jose.sign(claims, jose.generate_private_jwk("ES256"), typ="at+jwt")


def test_unknown_kids_refetch_at_most_once_per_cooldown(rotating_as: tuple[AS, Path]) -> None:
    auth, config = rotating_as
    clock, sink = FixedClock(time.time()), RecordingSink()

    async def scenario() -> None:
        v = JWTValidator(
            auth.base, AUDIENCE, refresh_cooldown=10, leeway=300, clock=clock, sink=sink
        )  # a generous leeway: the frozen clock falls behind the server while the test runs
        await v.validate(auth.service_token(), "f")
        assert v.keys.fetches == 1
        for _ in range(30):  # a flood of bogus kids inside the cooldown: no request to the server
            with pytest.raises(Rejected) as info:
                await v.validate(stranger_token(auth), "f")
            assert info.value.error.error == "invalid_token"
        assert v.keys.fetches == 1
        rotate(config)
        fresh = auth.service_token()
        with pytest.raises(Rejected):  # still inside the cooldown: the new kid is not known yet
            await v.validate(fresh, "f")
        clock.advance(10)
        assert (await v.validate(fresh, "f")).client_id == "svc"
        for _ in range(30):
            with pytest.raises(Rejected):
                await v.validate(stranger_token(auth), "f")
        assert v.keys.fetches == 2
        await v.aclose()

    _run(scenario())
    fetched = sink.named("jwks.fetched")
    assert len(fetched) == 2
    assert all(e.source == "resource_server" and e.channel == "back" for e in fetched)
