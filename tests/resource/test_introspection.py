"""Introspection mode (RFC 7662) against a real authorization server: revocation is seen at once,
and cached answers never outlive the configured maximum or the token's expiry."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.resource.conftest import AS, AUDIENCE, RS_CLIENT, RS_SECRET, resource_args
from tests.support.servers import free_port, running
from valetkey.core.checks import Rejected
from valetkey.core.clock import FixedClock
from valetkey.core.events import RecordingSink
from valetkey.resource import IntrospectionValidator


@pytest.fixture(scope="module")
def introspecting_api(auth: AS, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("rs-introspect")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = resource_args(auth, port, workdir, "--introspect", "--client-id", RS_CLIENT)
    with running(args, f"{base}/", workdir, env={"VALETKEY_RESOURCE_CLIENT_SECRET": RS_SECRET}):
        yield base


def revoke(auth: AS, token: str, hint: str = "access_token") -> None:
    r = httpx.post(
        f"{auth.base}/revoke", data={"token": token, "token_type_hint": hint, "client_id": "cli"}
    )
    assert r.status_code == 200, r.text


def profile(api: str, token: str) -> httpx.Response:
    return httpx.get(f"{api}/api/profile", headers={"Authorization": f"Bearer {token}"})


def test_revocation_is_seen_immediately(introspecting_api: str, auth: AS) -> None:
    token = auth.user_token("read:profile")
    r = profile(introspecting_api, token)
    assert r.status_code == 200, r.text
    assert r.json()["claims"]["active"] is True
    revoke(auth, token)
    r = profile(introspecting_api, token)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert "not active" in r.json()["error_description"]


def test_ending_the_grant_ends_its_access_tokens(introspecting_api: str, auth: AS) -> None:
    tokens = auth.user_tokens("read:profile offline_access")
    assert profile(introspecting_api, tokens["access_token"]).status_code == 200
    revoke(auth, tokens["refresh_token"], "refresh_token")
    assert profile(introspecting_api, tokens["access_token"]).status_code == 401


def test_a_refresh_token_is_not_a_bearer_token(introspecting_api: str, auth: AS) -> None:
    tokens = auth.user_tokens("read:profile offline_access")
    r = profile(introspecting_api, tokens["refresh_token"])
    assert r.status_code == 401
    assert "not an access token" in r.json()["error_description"]


def test_scopes_and_audience_apply_in_introspection_mode(introspecting_api: str, auth: AS) -> None:
    r = profile(introspecting_api, auth.service_token("read:files"))
    assert r.status_code == 403 and r.json()["scope"] == "read:profile"
    r = profile(introspecting_api, auth.user_token("openid"))
    assert r.status_code == 401 and "another resource" in r.json()["error_description"]


def test_wrong_resource_server_credentials_are_503_not_500(auth: AS, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    args = resource_args(
        auth,
        port,
        tmp_path,
        "--introspect",
        "--client-id",
        RS_CLIENT,
        "--client-secret",
        "wrong-secret",
    )
    with running(args, f"{base}/", tmp_path):
        r = profile(base, auth.user_token("read:profile"))
    assert r.status_code == 503
    assert r.json()["error"] == "temporarily_unavailable"
    assert r.headers["retry-after"]


def test_cached_answers_respect_the_maximum_and_the_expiry(auth: AS) -> None:
    clock, sink = FixedClock(time.time()), RecordingSink()
    token = auth.user_token("read:profile")

    async def scenario() -> None:
        v = IntrospectionValidator(
            auth.base,
            AUDIENCE,
            client_id=RS_CLIENT,
            client_secret=RS_SECRET,
            cache_seconds=60,
            clock=clock,
            sink=sink,
        )
        first = await v.validate(token, "f")
        await v.validate(token, "f")
        assert v.calls == 1  # the second answer came from the cache
        revoke(auth, token)
        clock.advance(30)
        await v.validate(token, "f")  # within the maximum: still the cached answer
        assert v.calls == 1
        clock.advance(31)
        with pytest.raises(Rejected) as info:  # past the maximum: asks again, sees the revocation
            await v.validate(token, "f")
        assert info.value.error.error == "invalid_token" and v.calls == 2

        long = IntrospectionValidator(
            auth.base,
            AUDIENCE,
            client_id=RS_CLIENT,
            client_secret=RS_SECRET,
            cache_seconds=10**6,
            clock=clock,
        )
        other = auth.user_token("read:profile")
        answer = await long.validate(other, "f")
        assert answer.expires_at is not None and first.expires_at is not None
        clock.advance(answer.expires_at - clock.now())  # at exp the cached answer is gone
        with pytest.raises(Rejected):
            await long.validate(other, "f")
        assert long.calls == 2
        await v.aclose()
        await long.aclose()

    asyncio.run(scenario())
    assert [e.data["active"] for e in sink.named("token.introspected")] == [True, False]
    assert all(token not in repr(e) for e in sink.events)
