"""The client's device flow (RFC 8628 §3.1-3.5) against a device-flow server made of valetkey's
own core rules behind ``httpx.MockTransport``, on a clock that only moves when the client sleeps:
no test here really waits."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from valetkey.client import (
    AuthorizationDenied,
    ClientConfig,
    DeviceCodeExpired,
    Endpoints,
    OAuthServerError,
    PollStatus,
    TokenSet,
    arun,
    await_tokens,
    run,
    wait_for_tokens,
)
from valetkey.client.device import authorize
from valetkey.client.device_response import DeviceAuthorization
from valetkey.client.errors import UnexpectedResponse
from valetkey.core.checks import Rejected
from valetkey.core.clock import FixedClock
from valetkey.core.device import (
    DEVICE_CODE_GRANT,
    DeviceCode,
    PollContext,
    decide_device_poll,
    device_authorization_response,
    device_code_digest,
    mint_device_code,
    new_user_code,
)
from valetkey.core.models import Client, Resource

AS = "https://as.example"
T0 = 1_700_000_000.0
SECRET = "tv-secret-0123456789abcdefghijklmnopqrstuvwxyz"
TV = Client("tv", grant_types=(DEVICE_CODE_GRANT,), token_endpoint_auth_method="none")
API = "https://api.example"  # the resource the client names (RFC 8707), granted with "read"
API_RESOURCE = Resource(API, ("read",))
Answer = tuple[int, dict[str, Any]] | str  # a scripted answer, or "timeout"


@dataclass
class FakeAS:
    """/device_authorization and /token on core.device's rules; the user acts at set times."""

    clock: FixedClock
    expires_in: int = 600
    server_ttl: int | None = None  # the server's own expiry, when it differs from what it said
    approve_at: float | None = None
    deny_at: float | None = None
    script: list[Answer] = field(default_factory=list)  # answers to the next polls, before rules
    requests: list[httpx.Request] = field(default_factory=list)
    polled_at: list[float] = field(default_factory=list)
    record: DeviceCode | None = None
    pace: tuple[float, int] | None = None

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        form = parse_qs(request.content.decode())
        if request.url.path == "/device_authorization":
            return self.authorize()
        self.polled_at.append(self.clock.now())
        if self.script:
            answer = self.script.pop(0)
            if answer == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
            assert not isinstance(answer, str)
            return httpx.Response(answer[0], json=answer[1])
        return self.poll(form)

    def authorize(self) -> httpx.Response:
        minted, now = mint_device_code(), self.clock.now()
        ttl = self.server_ttl or self.expires_in
        self.record = DeviceCode(
            minted.digest, new_user_code(), "tv", ("read",), (API,), now, now + ttl
        )
        body = device_authorization_response(
            device_code=minted.value,
            user_code=self.record.user_code,
            verification_uri=f"{AS}/device",
            expires_in=self.expires_in,
            interval=5,
        )
        return httpx.Response(200, json=body)

    def poll(self, form: dict[str, list[str]]) -> httpx.Response:
        record, now = self.record, self.clock.now()
        assert record is not None
        if self.approve_at is not None and now >= self.approve_at:
            record = replace(record, sub="alice", grant_id="g1")
        if self.deny_at is not None and now >= self.deny_at:
            record = replace(record, denied_at=self.deny_at)
        found = (
            record
            if device_code_digest(form["device_code"][0]) == record.device_code_digest
            else None
        )
        last, interval = self.pace or (None, 5)
        ctx = PollContext(form, TV, found, now, last, interval, resources=(API_RESOURCE,))
        try:
            decide_device_poll(ctx)
        except Rejected as refused:
            return httpx.Response(refused.error.status, json=refused.error.body())
        finally:
            self.pace = ctx.poll_state() or self.pace
        tokens = {
            "access_token": "at-1",
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "read",
        }
        return httpx.Response(200, json=tokens)

    def polls(self) -> list[dict[str, list[str]]]:
        return [parse_qs(r.content.decode()) for r in self.requests if r.url.path == "/token"]


def config(**kw: Any) -> ClientConfig:
    endpoints = Endpoints(
        token_endpoint=f"{AS}/token",
        metadata={"device_authorization_endpoint": f"{AS}/device_authorization"},
    )
    return ClientConfig("tv", endpoints, scope="read", resources=(API,), **kw)


@dataclass
class Run:
    server: FakeAS
    sleeps: list[float] = field(default_factory=list)
    reports: list[PollStatus] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.server.clock.advance(seconds)

    def start(self, http: httpx.Client, cfg: ClientConfig) -> DeviceAuthorization:
        return run(authorize(cfg, self.server.clock.now()), http)

    def __call__(self, cfg: ClientConfig | None = None) -> TokenSet:
        cfg = cfg or config()
        with httpx.Client(transport=httpx.MockTransport(self.server.handle)) as http:
            got = self.start(http, cfg)
            return wait_for_tokens(
                cfg,
                got,
                http,
                clock=self.server.clock,
                sleep=self.sleep,
                report=self.reports.append,
            )


def flow(**kw: Any) -> Run:
    return Run(FakeAS(FixedClock(T0), **kw))


def test_the_client_polls_every_interval_until_the_user_approves() -> None:
    go = flow(approve_at=T0 + 12)
    tokens = go()
    assert tokens.access_token == "at-1" and tokens.scope == "read"
    assert go.sleeps == [5, 5, 5]
    assert go.server.polled_at == [T0 + 5, T0 + 10, T0 + 15]  # never too soon for the core rule
    assert [r.answer for r in go.reports] == ["authorization_pending"] * 2
    first = parse_qs(go.server.requests[0].content.decode())
    assert first == {"client_id": ["tv"], "scope": ["read"], "resource": ["https://api.example"]}
    for poll in go.server.polls():
        assert poll["grant_type"] == [DEVICE_CODE_GRANT] and poll["client_id"] == ["tv"]
        assert poll["resource"] == ["https://api.example"]


def test_slow_down_adds_five_seconds_to_every_later_wait() -> None:
    slow = (400, {"error": "slow_down", "error_description": "easy"})
    go = flow(approve_at=T0 + 30, script=[slow])
    go()
    assert go.sleeps == [5, 10, 10, 10]
    assert [(r.answer, r.interval) for r in go.reports] == [
        ("slow_down", 10), ("authorization_pending", 10), ("authorization_pending", 10)
    ]  # fmt: skip


def test_the_user_denies_and_polling_stops() -> None:
    go = flow(deny_at=T0 + 7)
    with pytest.raises(AuthorizationDenied) as info:
        go()
    assert info.value.error == "access_denied" and info.value.status == 400
    assert go.server.polled_at == [T0 + 5, T0 + 10]


def test_the_server_says_expired_token() -> None:
    go = flow(server_ttl=8)
    with pytest.raises(DeviceCodeExpired) as info:
        go()
    assert info.value.status == 400 and "start a new device authorization" in str(info.value)
    assert "run the command again" in info.value.hint
    assert len(go.server.polled_at) == 2


def test_the_client_stops_by_itself_when_the_code_expires() -> None:
    go = flow(expires_in=12)
    with pytest.raises(DeviceCodeExpired, match="not approved in time"):
        go()
    assert go.server.polled_at == [T0 + 5, T0 + 10]  # a poll at T0+15 could only be refused


def test_a_timed_out_poll_doubles_the_wait() -> None:
    go = flow(approve_at=T0 + 1, script=["timeout"])
    go()
    assert go.sleeps == [5, 10]
    assert [(r.answer, r.interval) for r in go.reports] == [("timeout", 10)]


@pytest.mark.parametrize(
    ("answer", "kind", "error"),
    [
        ((401, {"error": "invalid_client"}), OAuthServerError, "invalid_client"),
        ((400, {"error": "invalid_grant"}), OAuthServerError, "invalid_grant"),
        ((400, {"error": "unauthorized_client"}), OAuthServerError, "unauthorized_client"),
    ],
)
def test_any_other_refusal_stops_with_the_servers_error(
    answer: Answer, kind: type[OAuthServerError], error: str
) -> None:
    go = flow(approve_at=T0, script=[answer])
    with pytest.raises(kind) as info:
        go()
    assert info.value.error == error and len(go.server.polled_at) == 1


def test_an_answer_that_is_not_oauth_stops_polling() -> None:
    go = flow(script=[(502, {"html": True})])
    with pytest.raises(UnexpectedResponse, match="502"):
        go()


def test_a_confidential_client_authenticates_on_both_requests() -> None:
    go = flow(approve_at=T0)
    go(config(client_secret=SECRET))
    basic = "Basic " + base64.b64encode(f"tv:{SECRET}".encode()).decode()
    assert [r.headers["authorization"] for r in go.server.requests] == [basic, basic]
    assert all("client_id" not in p for p in go.server.polls())


def test_the_device_authorization_endpoint_refuses() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"error": "unauthorized_client", "error_description": "no"})

    http = httpx.Client(transport=httpx.MockTransport(refuse))
    with http, pytest.raises(OAuthServerError) as info:
        run(authorize(config(), T0), http)
    assert info.value.error == "unauthorized_client"


def test_the_async_driver_waits_the_same_way() -> None:
    server = FakeAS(FixedClock(T0), approve_at=T0 + 20, script=[(400, {"error": "slow_down"})])
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        server.clock.advance(seconds)

    async def main() -> TokenSet:
        cfg = config()
        async with httpx.AsyncClient(transport=httpx.MockTransport(server.handle)) as http:
            got = await arun(authorize(cfg, T0), http)
            return await await_tokens(cfg, got, http, clock=server.clock, sleep=sleep)

    assert asyncio.run(main()).access_token == "at-1"
    assert sleeps == [5, 10, 10]
