"""Event sequences as plain values, in the order, names and actors that the servers, the demo
client and the CLI really emit them (taken from runs of the demo), for the inspector's unit tests."""

from __future__ import annotations

import itertools
from typing import Any

from valetkey.core.events import Check, FlowEvent, HttpExchange

_seq = itertools.count(1)


def ev(name: str, seq: int | None = None, flow: str = "f-1", **kw: Any) -> FlowEvent:
    defaults: dict[str, Any] = {"channel": "front", "source": "browser", "target": "client"}
    defaults.update(kw)
    number = next(_seq) if seq is None else seq
    defaults.setdefault("time", float(number))
    return FlowEvent(name=name, flow_id=flow, seq=number, **defaults)


AS, RS = "authorization_server", "resource_server"
SCOPE = ["read:profile", "read:files"]


def server_login(flow: str, *, sign_in: bool = True, consent: bool = True) -> list[FlowEvent]:
    """What the authorization server emits for one login, up to the redirect with the code."""
    out = [
        ev(
            "authorization.requested",
            flow=flow,
            target=AS,
            data={"client_id": "demo-native", "scope": SCOPE, "pkce": "S256"},
        )
    ]
    if sign_in:
        out += [
            ev("login.shown", flow=flow, source=AS, target="user"),
            ev("login.succeeded", flow=flow, source="user", target=AS),
        ]
    if consent:
        out += [
            ev("consent.shown", flow=flow, source=AS, target="user"),
            ev("consent.granted", flow=flow, source="user", target=AS),
        ]
    return [*out, ev("authorization_code.issued", flow=flow, source=AS, target="client")]


def token_issued(flow: str, grant: str = "authorization_code", **data: Any) -> FlowEvent:
    body = {"grant_type": grant, "client_id": "demo-native", "code": "abcd…[redacted]"}
    http = HttpExchange(
        "POST",
        "http://127.0.0.1:9000/token",
        request_body=body,
        status=200,
        response_body={
            "access_token": "eyJh…[redacted]",
            "expires_in": 600,
            "scope": " ".join(SCOPE),
        },
    )
    return ev(
        "token.issued",
        flow=flow,
        channel="back",
        source="client",
        target=AS,
        http=http,
        checks=(Check("check_code_verifier", "pass", "RFC 7636 §4.6"),),
        data={"grant_type": grant, "scope": SCOPE, **data},
    )


def api_call(flow: str, *, client: bool = True, scope: list[str] = SCOPE) -> list[FlowEvent]:
    """The resource server's events for one call (a first call also fetches the keys)."""
    out = [
        ev("jwks.fetched", flow=flow, channel="back", source=RS, target=AS),
        ev(
            "resource_request.authenticated",
            flow=flow,
            channel="back",
            source="client",
            target=RS,
            data={"client_id": "demo-native", "scope": scope, "sub": "u-1", "path": "/api/profile"},
        ),
    ]
    if client:
        out.append(ev("api.responded", flow=flow, channel="back", source=RS, target="client"))
    return out


def demo_pkce_login(flow: str, *, sign_in: bool = True) -> list[FlowEvent]:
    """The demo client's whole PKCE login: its own events around the servers'."""
    return [
        ev(
            "login.clicked",
            flow=flow,
            source="user",
            data={"kind": "pkce", "client_id": "demo-spa"},
        ),
        ev("authorization.redirected", flow=flow, source="client", target="browser"),
        *server_login(flow, sign_in=sign_in),
        ev("callback.received", flow=flow),
        token_issued(flow),
        ev("token.received", flow=flow, channel="back", source=AS, target="client"),
        *api_call(flow),
    ]


def attack_started(flow: str, attack: str, defence_on: bool = True) -> FlowEvent:
    return ev(
        "attack.started",
        flow=flow,
        channel="local",
        source="client",
        target="client",
        data={
            "kind": "pkce",
            "attack": attack,
            "title": attack.replace("_", " "),
            "defence": "on" if defence_on else "OFF",
            "expected": "x",
            "insecure": None if defence_on else "switched off",
        },
    )


def attack_finished(flow: str, as_expected: bool = True) -> FlowEvent:
    return ev(
        "attack.finished",
        flow=flow,
        channel="local",
        source="client",
        target="client",
        data={"as_expected": as_expected},
        error=None if as_expected else "unexpected_outcome",
    )
