"""Every decision of the middleware is an event naming the rule and its spec section; no token in it."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.resource.conftest import AS, AUDIENCE
from tests.support.servers import free_port
from valetkey.core import flows
from valetkey.core.events import RecordingSink
from valetkey.resource import BearerAuth, JWTValidator, requires_scopes


@requires_scopes("read:files")
async def files(request: Request) -> JSONResponse:
    return JSONResponse({"sub": request.state.access_token.sub})


def run_requests(
    issuer: str, calls: list[dict[str, str]]
) -> tuple[list[httpx.Response], RecordingSink]:
    sink = RecordingSink()

    async def scenario() -> list[httpx.Response]:
        validator = JWTValidator(issuer, AUDIENCE, sink=sink)
        app = Starlette(
            routes=[Route("/files", files)],
            middleware=[Middleware(BearerAuth, validator=validator)],
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rs.test") as http:
            out = [await http.get("/files", headers=h) for h in calls]
        await validator.aclose()
        return out

    return asyncio.run(scenario()), sink


def test_rejections_and_acceptances_are_events(auth: AS) -> None:
    now = int(time.time())
    expired = auth.forge(exp=now - 3600, iat=now - 4000, scope="read:files")
    good = auth.service_token("read:files")
    wrong_scope = auth.forge(scope="read:profile")
    responses, sink = run_requests(
        auth.base,
        [
            {"Authorization": f"Bearer {expired}", "X-Valetkey-Flow": "f-expired"},
            {"Authorization": f"Bearer {good}"},
            {"Authorization": f"Bearer {wrong_scope}"},
            {},
        ],
    )
    assert [r.status_code for r in responses] == [401, 200, 403, 401]
    rejected = sink.named("resource_request.rejected")
    assert [e.error for e in rejected] == ["invalid_token", "insufficient_scope", "no_credentials"]
    first = rejected[0]
    assert first.flow_id == "f-expired"
    assert (first.source, first.target, first.channel) == ("client", "resource_server", "back")
    assert [(c.rule, c.outcome) for c in first.checks][-1] == ("not_expired", "fail")
    assert first.checks[-1].spec == "RFC 7519 §4.1.4"
    assert {"alg_allowed", "typ_at_jwt", "signature", "issuer", "audience"} <= {
        c.rule for c in first.checks if c.outcome == "pass"
    }
    assert first.data["reason"] == "the access token has expired"
    assert rejected[1].checks[-1].rule == "scope_granted"
    accepted = sink.named("resource_request.authenticated")
    assert len(accepted) == 2 and accepted[0].data["client_id"] == "svc"
    for event in sink.events:
        for token in (expired, good, wrong_scope):
            assert token not in repr(event)


def test_an_unreachable_authorization_server_is_503_and_an_event(auth: AS) -> None:
    responses, sink = run_requests(
        f"http://127.0.0.1:{free_port()}", [{"Authorization": f"Bearer {auth.forge()}"}]
    )
    assert responses[0].status_code == 503
    assert responses[0].json()["error"] == "temporarily_unavailable"
    [event] = sink.named("resource_request.rejected")
    assert event.error == "temporarily_unavailable" and "could not be fetched" in event.summary


def test_events_and_flow_ids_are_made_only_when_a_sink_keeps_them(
    auth: AS, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = auth.service_token("read:files")

    class SinklessValidator:  # a TokenValidator of the app's own, with no sink attribute
        def __init__(self, inner: JWTValidator) -> None:
            self.validate = inner.validate

    async def call(sink: RecordingSink | None, sinkless: bool = False) -> int:
        validator = JWTValidator(auth.base, AUDIENCE)  # its own sink: NullSink
        guarded = SinklessValidator(validator) if sinkless else validator
        app = Starlette(
            routes=[Route("/files", files)],
            middleware=[Middleware(BearerAuth, validator=guarded, sink=sink)],
        )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://rs.test") as http:
            status = (
                await http.get("/files", headers={"Authorization": f"Bearer {good}"})
            ).status_code
        await validator.aclose()
        return status

    # The middleware's own sink observes: events, each with a flow id.
    sink = RecordingSink()
    assert asyncio.run(call(sink)) == 200
    (accepted,) = sink.named("resource_request.authenticated")
    assert accepted.flow_id.startswith("n-")

    # Nothing observes: no flow id is drawn (that costs a system call for randomness) and no event.
    def no_flow_id() -> str:
        raise AssertionError("a flow id was drawn for an unobserved request")

    monkeypatch.setattr(flows, "new_flow_id", no_flow_id)
    assert asyncio.run(call(None)) == 200
    assert asyncio.run(call(None, sinkless=True)) == 200
