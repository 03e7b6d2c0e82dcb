"""The diagram's model: flow kinds, template matching, redaction-aware curl, the live bus."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from valetkey.core.events import Check, FlowEvent, HttpExchange, RecordingSink
from valetkey.inspector import EventBus
from valetkey.inspector.curl import curl_command
from valetkey.inspector.flows import build_steps, flow_kind, flow_view
from valetkey.inspector.steps import TEMPLATES


def ev(name: str, seq: int, flow: str = "f-1", **kw: Any) -> FlowEvent:
    defaults: dict[str, Any] = {"channel": "front", "source": "browser", "target": "client"}
    defaults.update(kw)
    defaults.setdefault("time", float(seq))
    return FlowEvent(name=name, flow_id=flow, seq=seq, **defaults)


def test_kind_comes_from_what_the_events_say() -> None:
    assert (
        flow_kind([ev("authorization.requested", 1, data={"pkce": "S256", "scope": []})]) == "pkce"
    )
    assert flow_kind([ev("authorization.requested", 1, data={"pkce": None})]) == "confidential"
    assert (
        flow_kind([ev("authorization.requested", 1, data={"pkce": "S256", "scope": ["openid"]})])
        == "oidc"
    )
    assert flow_kind([ev("token.issued", 1, data={"grant_type": "refresh_token"})]) == "refresh"
    assert (
        flow_kind([ev("token.issued", 1, data={"grant_type": "client_credentials"})])
        == "client_credentials"
    )
    assert flow_kind([ev("token.issued", 1, deprecated="RFC 9700 §2.4")]) == "legacy"
    # The client's hint wins: it knows before the server sees anything.
    assert flow_kind([ev("login.clicked", 1, data={"kind": "oidc"})]) == "oidc"
    assert flow_kind([ev("password.collected", 1, data={"kind": "legacy"})]) == "legacy"
    assert flow_kind([ev("something.else", 1)]) == "other"


def test_steps_fill_the_template_in_order_and_leave_the_rest_pending() -> None:
    steps = build_steps("pkce", [ev("login.clicked", 1), ev("authorization.redirected", 2)])
    template = TEMPLATES["pkce"]
    assert len(steps) == len(template)
    assert [s["status"] for s in steps[:2]] == ["done", "done"]
    assert {s["status"] for s in steps[2:]} == {"pending"}
    assert [s["number"] for s in steps] == list(range(1, len(template) + 1))


def test_steps_a_flow_skipped_are_dropped_and_extras_kept_where_they_happened() -> None:
    events = [
        ev("login.clicked", 1),
        ev("authorization.redirected", 2),
        ev("authorization.requested", 3),
        # Signed in already and consent remembered: straight to the code.
        ev("authorization_code.issued", 4),
        ev("callback.received", 5),
        ev(
            "token.rejected",
            6,
            channel="back",
            error="invalid_grant",
            checks=(Check("check_code_verifier", "fail", "RFC 7636 §4.6"),),
        ),
    ]
    steps = build_steps("pkce", events)
    names = [s["name"] for s in steps]
    assert "login.shown" not in names and "consent.shown" not in names
    assert names.index("token.rejected") == 5
    assert steps[5]["status"] == "failed"
    # The flow ended in a rejection: what is left will not happen.
    assert {s["status"] for s in steps[6:]} == {"not_reached"}


def test_flow_view_names_attack_insecure_and_errors() -> None:
    events = [
        ev(
            "attack.started",
            1,
            channel="local",
            source="client",
            data={
                "kind": "pkce",
                "title": "Code interception",
                "defence": "PKCE OFF",
                "expected": "x",
                "insecure": "PKCE switched off",
            },
        ),
        ev("token.issued", 2, channel="back", data={"client_id": "demo-insecure-public"}),
        ev("attack.finished", 3, channel="local"),
    ]
    view = flow_view("f-1", events)
    assert view["attack"]["title"] == "Code interception"
    assert view["insecure"] is True
    assert view["client_id"] == "demo-insecure-public"
    assert view["complete"] is True  # an attack that finished leaves nothing pending
    assert view["errors"] == []


def test_curl_turns_redacted_values_into_variables() -> None:
    http = HttpExchange(
        "POST",
        "http://127.0.0.1:9000/token",
        request_headers={
            "authorization": "Basi…[redacted]",
            "x-valetkey-flow": "f-1",
            "content-type": "application/x-www-form-urlencoded",
        },
        request_body={
            "grant_type": "authorization_code",
            "code": "abcd…[redacted]",
            "redirect_uri": "http://localhost:9002/callback",
        },
    )
    cmd = curl_command(http)
    assert cmd.startswith("curl http://127.0.0.1:9000/token")
    assert '-u "$CLIENT_ID:$CLIENT_SECRET"' in cmd
    assert '--data-urlencode "code=$CODE"' in cmd
    assert "--data-urlencode grant_type=authorization_code" in cmd
    assert "redacted" not in cmd


def test_curl_for_a_get_with_a_bearer_token_and_a_query() -> None:
    http = HttpExchange(
        "GET",
        "http://127.0.0.1:9001/api/files?state=abc&code=wxyz…[redacted]",
        request_headers={"authorization": "Bear…[redacted]"},
    )
    cmd = curl_command(http)
    assert '-H "Authorization: Bearer $ACCESS_TOKEN"' in cmd
    assert "code=$CODE" in cmd and "state=abc" in cmd


def test_bus_groups_events_and_wakes_subscribers_from_other_threads() -> None:
    sink = RecordingSink()
    bus = EventBus()
    bus.attach(sink)

    async def scenario() -> list[str | None]:
        queue = bus.subscribe()
        emitter = threading.Thread(target=lambda: sink.emit(ev("login.clicked", 0, flow="f-9")))
        emitter.start()
        got = [await asyncio.wait_for(queue.get(), 5)]
        emitter.join()
        bus.close()
        got.append(await asyncio.wait_for(queue.get(), 5))
        return got

    # Own thread, own loop: Playwright's sync API may hold a running loop in the main thread.
    result: list[list[str | None]] = []
    runner = threading.Thread(target=lambda: result.append(asyncio.run(scenario())))
    runner.start()
    runner.join(10)
    assert result == [["f-9", None]]
    view = bus.flow("f-9")
    assert view is not None and view["steps"][0]["event"]["name"] == "login.clicked"
    assert bus.flow("nope") is None
    assert [f["flow_id"] for f in bus.flows()] == ["f-9"]


def test_bus_forgets_the_oldest_flows_beyond_its_limit() -> None:
    bus = EventBus(max_flows=2)
    for i in range(3):
        bus.publish(ev("login.clicked", i, flow=f"f-{i}"))
    assert [f["flow_id"] for f in bus.flows()] == ["f-1", "f-2"]


def test_missing_browser_skips_or_fails_as_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.inspector.conftest import skip_or_fail

    skip_or_fail(None)  # Chromium present: nothing happens
    monkeypatch.delenv("VALETKEY_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception, match="browser tests skipped"):
        skip_or_fail("no chromium")
    monkeypatch.setenv("VALETKEY_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="VALETKEY_REQUIRE_BROWSER=1"):
        skip_or_fail("no chromium")
