"""Calls that name no flow join the flow of their token; the bus keeps flows and pushes changes."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace

from tests.inspector.recorded import (
    AS,
    SCOPE,
    api_call,
    demo_pkce_login,
    ev,
    server_login,
    token_issued,
)
from valetkey.core.events import RecordingSink
from valetkey.inspector import EventBus
from valetkey.inspector.joins import Joiner


def publish(bus: EventBus, events: list) -> None:  # type: ignore[type-arg]
    for e in events:
        bus.publish(e)


def test_a_call_without_a_flow_joins_the_one_flow_that_issued_its_token() -> None:
    bus = EventBus()
    publish(bus, [*server_login("f-cli"), token_issued("f-cli")])
    publish(bus, api_call("n-call", client=False))  # `valetkey call`: no header, its own id
    assert [f["flow_id"] for f in bus.flows()] == ["f-cli"]
    view = bus.flow("f-cli")
    assert view is not None
    assert view["joined"][0]["flow_id"] == "n-call" and "inferred" in view["joined"][0]["how"]
    steps = {s["number"]: s for s in view["steps"]}
    assert steps[10]["status"] == "done" and steps[10]["name"] == "resource_request.authenticated"
    assert steps[11]["status"] == "done" and [x["name"] for x in steps[11]["subs"]] == [
        "jwks.fetched"
    ]
    assert bus.flow("n-call") == view  # the old id still finds it


def test_no_join_when_the_token_cannot_be_told_apart() -> None:
    joiner = Joiner()
    issued = [token_issued(flow) for flow in ("f-a", "f-b")]  # same client, same scopes
    for token in issued:
        joiner.learn(token.flow_id, token, [])
    call = api_call("n-1", client=False)[1]
    assert joiner.target(call, []) is None
    # Another client, other scopes, or an expired token: no candidate at all.
    only = Joiner()
    only.learn("f-a", issued[0], [])
    assert only.target(replace(call, data={**call.data, "client_id": "other"}), []) is None
    assert only.target(replace(call, data={**call.data, "scope": ["read:files"]}), []) is None
    assert only.target(replace(call, time=call.time + 1000), []) is None
    assert only.target(call, []) is not None


def test_a_token_id_in_the_events_joins_without_guessing() -> None:
    joiner = Joiner()
    for flow in ("f-a", "f-b"):
        joiner.learn(flow, token_issued(flow, jti=f"jti-{flow}"), [])
    call = api_call("n-1", client=False)[1]
    with_id = replace(call, data={**call.data, "jti": "jti-f-b"})
    assert joiner.target(with_id, []) == ("f-b", "by the access token's id (jti)")
    # The demo client's token.received carries the decoded access token (claims, no signature).
    received = ev("token.received", data={"decoded": {"access_token": {"claims": {"jti": "j-9"}}}})
    joiner.learn("f-c", received, [])
    assert joiner.target(replace(call, data={**call.data, "jti": "j-9"}), [])[0] == "f-c"  # type: ignore[index]


def test_a_flow_with_its_own_steps_never_joins_another() -> None:
    joiner = Joiner()
    joiner.learn("f-a", token_issued("f-a"), [])
    call = api_call("f-b", client=False)[1]
    assert joiner.target(call, [ev("login.clicked", flow="f-b")]) is None


def test_the_resource_servers_own_userinfo_call_is_drawn_in_its_lane() -> None:
    bus = EventBus()
    scope = ["openid", *SCOPE]
    login = demo_pkce_login("f-o")[:-3]
    login[0] = replace(login[0], data={"kind": "oidc", "client_id": "demo-spa"})
    publish(bus, login)
    jwks, call, responded = api_call("f-o", scope=scope)
    userinfo = ev("userinfo.returned", flow="n-ui", channel="back", source="client", target=AS)
    publish(bus, [jwks, call, userinfo, responded])
    view = bus.flow("f-o")
    assert view is not None and view["kind"] == "oidc"
    answer = view["steps"][-1]
    assert [(x["name"], x["source"]) for x in answer["subs"]] == [
        ("jwks.fetched", "resource_server"),
        ("userinfo.returned", "resource_server"),
    ]
    assert bus.flow("n-ui") == view and len(bus.flows()) == 1


def test_a_userinfo_call_naming_the_flow_during_its_api_call_is_the_resource_servers() -> None:
    """Once the demo API forwards the flow id of the request it serves, its call lands in that
    flow directly, and is still drawn from the resource server's lane."""
    bus = EventBus()
    scope = ["openid", *SCOPE]
    login = demo_pkce_login("f-h")[:-3]
    jwks, call, responded = api_call("f-h", scope=scope)
    userinfo = ev("userinfo.returned", flow="f-h", channel="back", source="client", target=AS)
    publish(bus, [*login, jwks, call, userinfo, responded])
    view = bus.flow("f-h")
    assert view is not None
    assert [(x["name"], x["source"]) for x in view["steps"][-1]["subs"]] == [
        ("jwks.fetched", "resource_server"),
        ("userinfo.returned", "resource_server"),
    ]


def test_bus_wakes_subscribers_from_other_threads() -> None:
    sink = RecordingSink()
    bus = EventBus()
    bus.attach(sink)

    async def scenario() -> list[str | None]:
        queue = bus.subscribe()
        emitter = threading.Thread(
            target=lambda: sink.emit(ev("login.clicked", 0, flow="f-9", data={"kind": "pkce"}))
        )
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
