"""The client's record of a device flow and of a refresh (``client.record``), laid onto the Device
and Refresh canonical steps by the inspector's own view, with plain values: the device-flow server
of test_device_flow (core rules behind ``httpx.MockTransport``, a clock that moves only when the
client sleeps) and a mocked token endpoint."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from tests.client.test_device_flow import T0, FakeAS, config
from tests.client.test_record import drawn
from tests.client.test_skips import NOW
from tests.client.test_skips import config as code_config
from valetkey.client import (
    SecurityCheckFailed,
    arun,
    await_tokens,
    grants,
    run,
    wait_for_tokens,
)
from valetkey.client.device import authorize
from valetkey.client.device_response import DeviceAuthorization
from valetkey.client.record import FlowRecord
from valetkey.client.tokens import TokenSet
from valetkey.core.clock import FixedClock
from valetkey.inspector.export import export_text, har, mermaid
from valetkey.inspector.flows import flow_view

ACCESS = "device-access-token-0123456789"
REFRESH = "device-refresh-token-0123456789"
PENDING = (400, {"error": "authorization_pending"})
SLOW = (400, {"error": "slow_down"})
ISSUED = (200, {"access_token": ACCESS, "refresh_token": REFRESH, "token_type": "Bearer",
                "expires_in": 300, "scope": "read"})  # fmt: skip


def device(**kw: Any) -> tuple[FlowRecord, Exception | None, DeviceAuthorization | None]:
    """A whole device flow through the record, as ``token get --grant device_code`` runs it."""
    fake = FakeAS(FixedClock(T0), **kw)
    record, cfg, got = FlowRecord("device", "tv"), config(), None
    with httpx.Client(transport=httpx.MockTransport(fake.handle)) as http:
        try:
            got = run(authorize(cfg, T0, note=record.note), http, record.device_authorization)
            record.code_shown(got)
            tokens = wait_for_tokens(cfg, got, http, clock=fake.clock, sleep=fake.clock.advance,
                                     observe=record.observe, report=record.polled,
                                     note=record.note)  # fmt: skip
        except Exception as exc:
            record.failed(exc)
            return record, exc, got
    record.received(tokens)
    return record, None, got


def statuses(view: dict[str, Any]) -> list[str]:
    return [s["status"] for s in view["steps"]]


def test_an_approved_device_flow_is_laid_onto_the_device_steps() -> None:
    record, failure, got = device(script=[PENDING, SLOW, ISSUED])
    assert failure is None and got is not None
    view, text = drawn(record.events)
    assert view["kind"] == "device" and view["badge"] == ["complete", "ok"]
    assert statuses(view)[:9] == ["done"] * 4 + ["unobserved"] * 3 + ["done"] * 2
    assert statuses(view)[9:] == ["unused", "unused"]  # no API call yet
    polls = view["steps"][3]
    assert polls["event"]["name"] == "device.poll_pending"
    assert [s["name"] for s in polls["subs"]] == ["device.slow_down"]
    assert "POST /token: slow_down: next poll in 10 s (5 s more, for good)" in text
    assert "POST /token: authorization_pending: next poll in 5 s" in text
    assert f"Shows {got.verification_uri} and the user code" in text
    assert [(c["rule"], c["outcome"]) for c in view["steps"][1]["event"]["checks"]] == [
        ("check_device_authorization_response", "pass"),
        ("check_verification_uri", "pass"),
    ]
    assert "✓ check_verification_uri (RFC 8628 §3.2, RFC 6749 §3.1)" in text
    assert "✓ 8. Next poll: POST /token" in text and "✓ check_token_type (RFC 6749 §7.1)" in text
    assert [s["name"] for s in view["steps"][8]["subs"]] == ["token.received"]
    assert "Not seen by the client" in view["steps"][4]["note"]  # the code typed on the phone
    assert not view["extras"]


def test_no_secret_of_the_device_flow_reaches_the_drawing_or_an_export() -> None:
    record, _, got = device(script=[PENDING, ISSUED])
    assert got is not None
    events = record.events
    texts = [
        json.dumps([e.to_dict() for e in events], default=str),
        json.dumps(har(events, "test")),
        mermaid("t", ["client"], events),
        export_text("json", flow_view("f", events), events, "test"),
        drawn(events)[1],
    ]
    for secret in (got.device_code, got.user_code, ACCESS, REFRESH):
        for text in texts:
            assert secret not in text
    poll = next(e for e in events if e.name == "device.poll_pending").http
    assert poll is not None and poll.request_body["device_code"].endswith("…[redacted]")


@pytest.mark.parametrize(
    ("kw", "error", "name"),
    [
        ({"deny_at": T0 + 7}, "access_denied", "token.rejected"),
        ({"server_ttl": 8}, "expired_token", "token.rejected"),  # the server says so
        ({"expires_in": 8}, "expired_token", "device.expired"),  # the client stops on its own
    ],
)
def test_a_flow_that_ends_without_tokens_fails_at_the_next_poll(
    kw: dict[str, Any], error: str, name: str
) -> None:
    record, failure, _ = device(**kw)
    assert failure is not None
    view, text = drawn(record.events)
    assert view["complete"] and view["badge"] == [error, "failed"]
    step = view["steps"][7]
    assert (step["title"], step["event"]["name"]) == ("Next poll: POST /token", name)
    assert view["steps"][6]["status"] == "unobserved"  # the decision on the phone
    if name == "token.rejected":  # the poll went out; its answer is the refusal
        assert statuses(view)[7:] == ["done", "failed", "not_reached", "not_reached"]
        assert "✗ 9. Returns the tokens" in text and f"refused: {error} ({error})" in text
    else:  # no poll was sent: the device gave up
        assert statuses(view)[7:] == ["failed", "not_reached", "not_reached", "not_reached"]
        assert "✗ 8. Next poll: POST /token" in text and "No more polls: " in text


def test_a_refused_device_authorization_ends_the_flow_at_step_one() -> None:
    refuse = {"error": "invalid_client", "error_description": "unknown client"}
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(401, json=refuse)))
    record = FlowRecord("device", "tv")
    with pytest.raises(Exception) as refused:
        run(authorize(config(), T0), http, record.device_authorization)
    record.failed(refused.value)
    view, text = drawn(record.events)
    assert view["complete"] and view["badge"] == ["invalid_client", "failed"]
    assert statuses(view)[:3] == ["done", "failed", "not_reached"]  # sent; refused
    assert "POST /device_authorization: refused: invalid_client" in text


def refreshed(answer: tuple[int, dict[str, Any]]) -> tuple[FlowRecord, Exception | None]:
    """``token refresh --inspect``: the record's first step, the token endpoint, the result."""
    cfg = code_config("read")
    held = TokenSet("old-access-token-0123", "Bearer", refresh_token=REFRESH, scope="read")
    record = FlowRecord("refresh", "app")
    record.refresh_started("default", held.scope)
    http = httpx.Client(
        transport=httpx.MockTransport(lambda r: httpx.Response(answer[0], json=answer[1]))
    )
    try:
        tokens = run(grants.refresh(cfg, held, NOW, record.note), http, record.observe)
    except Exception as exc:
        record.failed(exc)
        return record, exc
    record.received(tokens)
    return record, None


def test_a_refresh_is_laid_onto_the_refresh_steps() -> None:
    record, failure = refreshed(ISSUED)
    assert failure is None
    view, text = drawn(record.events)
    assert view["kind"] == "refresh" and view["badge"] == ["complete", "ok"]
    assert statuses(view)[:4] == ["done"] * 4
    assert "✓ 2. POST /token grant_type=refresh_token" in text
    assert "✓ check_scope_not_wider (RFC 6749 §3.3, RFC 9700 §2.3)" in text
    assert [s["name"] for s in view["steps"][3]["subs"]] == ["token.received"]
    for secret in (REFRESH, ACCESS):
        assert secret not in text and secret not in json.dumps(har(record.events, "t"))


def test_a_refused_refresh_is_drawn_failed_with_its_error() -> None:
    record, failure = refreshed((400, {"error": "invalid_grant", "error_description": "used"}))
    assert failure is not None
    view, text = drawn(record.events)
    assert view["complete"] and view["badge"] == ["invalid_grant", "failed"]
    assert statuses(view)[:4] == ["done", "done", "failed", "failed"]  # sent, then refused
    assert "✗ 3. Checks it, retires the old refresh token" in text
    assert "refused: invalid_grant (invalid_grant)" in text
    assert REFRESH not in text


def test_a_poll_that_timed_out_is_drawn_inside_the_polling_step() -> None:
    record, failure, _ = device(script=["timeout", PENDING, ISSUED])
    assert failure is None
    view, text = drawn(record.events)
    polls = view["steps"][3]
    assert polls["status"] == "done" and polls["event"]["name"] == "device.poll_pending"
    assert [s["name"] for s in polls["subs"]] == ["device.poll_timeout"]
    assert "Poll 1 got no answer in time: next in 10 s" in text
    assert view["complete"] and not view["extras"]


def test_a_sign_in_page_over_plain_http_is_the_failed_check_and_no_code_is_shown() -> None:
    body = {"device_code": "a-device-code-0123456789", "user_code": "WDJB-MJHT",
            "verification_uri": "http://as.example/device", "expires_in": 600}  # fmt: skip
    http = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200, json=body)))
    record = FlowRecord("device", "tv")
    with pytest.raises(SecurityCheckFailed) as refused:
        run(authorize(config(), T0, note=record.note), http, record.device_authorization)
    record.failed(refused.value)
    view, text = drawn(record.events)
    assert view["complete"] and view["badge"] == ["invalid_device_authorization", "failed"]
    assert statuses(view)[:3] == ["done", "failed", "not_reached"]
    assert "✗ check_verification_uri (RFC 8628 §3.2, RFC 6749 §3.1): verification_uri" in text
    assert "The client refused the answer: " in text
    assert "a-device-code-0123456789" not in text


def test_the_async_driver_tells_the_record_the_same_steps() -> None:
    fake = FakeAS(FixedClock(T0), script=[SLOW, ISSUED])
    record = FlowRecord("device", "tv")

    async def nap(seconds: float) -> None:
        fake.clock.advance(seconds)

    async def go() -> TokenSet:
        transport = httpx.MockTransport(fake.handle)
        async with httpx.AsyncClient(transport=transport) as http:
            flow = authorize(config(), T0, note=record.note)
            got = await arun(flow, http, record.device_authorization)
            return await await_tokens(config(), got, http, clock=fake.clock, sleep=nap,
                                      observe=record.observe, report=record.polled,
                                      note=record.note)  # fmt: skip

    record.received(asyncio.run(go()))
    view, text = drawn(record.events)
    assert view["complete"] and statuses(view)[:4] == ["done", "done", "unobserved", "done"]
    assert "POST /token: slow_down: next poll in 10 s (5 s more, for good)" in text
    assert "✓ check_token_type (RFC 6749 §7.1)" in text
