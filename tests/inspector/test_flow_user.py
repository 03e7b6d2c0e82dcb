"""A flow's user, and the ``?user=`` filter, as plain values: whichever way the flow ran, it is the
user its server events acted for (``data["user"]``, see server/acting.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.inspector.recorded import AS, ev, server_login, token_issued
from valetkey.core.events import FlowEvent
from valetkey.inspector.app import Filter
from valetkey.inspector.flows import flow_user, flow_view

DEVICE = "urn:ietf:params:oauth:grant-type:device_code"
BACK = ("refresh_token.rotated", "token.issued", "userinfo.returned")  # back-channel, for a user


def acting(events: list[FlowEvent], user: str, *names: str) -> list[FlowEvent]:
    """The events, those named carrying ``user`` as the server puts it."""
    return [replace(e, data={**e.data, "user": user}) if e.name in names else e for e in events]


def remembered_login(flow: str, user: str) -> list[FlowEvent]:
    """A login whose sign-in and consent were remembered: no sign-in event at all."""
    return acting(
        [*server_login(flow, sign_in=False, consent=False), token_issued(flow)],
        user,
        "authorization.requested",
        "authorization_code.issued",
        "token.issued",
    )


def refresh_flow(flow: str, user: str) -> list[FlowEvent]:
    rotated = ev("refresh_token.rotated", flow=flow, channel="back", source=AS, target="client")
    return acting([rotated, token_issued(flow, "refresh_token")], user, *BACK)


def device_flow(flow: str, user: str) -> list[FlowEvent]:
    events = [
        ev("device_authorization.issued", flow=flow, channel="back", source=AS, target="client"),
        ev("device.user_code_entered", flow=flow, source="user", target=AS),
        ev("consent.shown", flow=flow, source=AS, target="user"),
        ev("device.approved", flow=flow, source="user", target=AS),
        ev("device.poll_pending", flow=flow, channel="back", source=AS, target="client"),
        token_issued(flow, DEVICE),
    ]
    return acting(events, user, "consent.shown", "device.approved", "token.issued")


def client_credentials(flow: str) -> list[FlowEvent]:
    return [token_issued(flow, "client_credentials", client_id="svc")]


def views() -> dict[str, dict[str, Any]]:
    signed_in = acting(server_login("f-signed"), "alice", "login.succeeded", "consent.granted")
    return {
        "signed": flow_view("f-signed", signed_in),
        "remembered": flow_view("f-remembered", remembered_login("f-remembered", "alice")),
        "refresh": flow_view("f-refresh", refresh_flow("f-refresh", "alice")),
        "device": flow_view("f-device", device_flow("f-device", "alice")),
        "userinfo": flow_view(
            "f-ui",
            acting(
                [ev("userinfo.returned", flow="f-ui", channel="back", target=AS)], "alice", *BACK
            ),
        ),
        "bob": flow_view("f-bob", remembered_login("f-bob", "bob")),
        "svc": flow_view("f-svc", client_credentials("f-svc")),
    }


def test_a_flow_knows_its_user_however_it_ran() -> None:
    users = {key: view["user"] for key, view in views().items()}
    assert users == {
        "signed": "alice",
        "remembered": "alice",  # no sign-in event: the request, the code and the tokens say it
        "refresh": "alice",
        "device": "alice",
        "userinfo": "alice",
        "bob": "bob",
        "svc": None,
    }
    assert views()["remembered"]["kind"] == "pkce" and views()["refresh"]["kind"] == "refresh"


def test_the_user_is_the_latest_the_events_name() -> None:
    # A request with alice's session, then (prompt=login) bob signs in: the flow is bob's.
    events = [
        *acting([ev("authorization.requested", target=AS)], "alice", "authorization.requested"),
        ev("login.shown", source=AS, target="user"),
        *acting(
            [
                ev("login.succeeded", source="user", target=AS),
                ev("authorization_code.issued", source=AS, target="client"),
            ],
            "bob",
            "login.succeeded",
            "authorization_code.issued",
        ),
    ]
    assert flow_user(events) == "bob"
    assert flow_user(list(reversed(events))) == "bob"  # by sequence, not by list order
    assert flow_user([]) is None


def test_only_a_string_names_a_user() -> None:
    # The demo API says whether a token has a user ("user": true); that is not a username.
    call = ev("api.responded", data={"user": True})
    assert flow_user([call]) is None


def test_the_user_filter_keeps_every_flow_of_that_user_and_only_those() -> None:
    shown = views()
    alice = Filter(user="alice")
    assert {k for k, v in shown.items() if alice.keeps(v)} == {
        "signed",
        "remembered",
        "refresh",
        "device",
        "userinfo",
    }
    assert {k for k, v in shown.items() if Filter(user="bob").keeps(v)} == {"bob"}
    assert not any(Filter(user="svc").keeps(v) for v in shown.values())  # a client is no user
    assert {k for k, v in shown.items() if Filter(client_id="svc").keeps(v)} == {"svc"}
    assert not any(Filter(client_id="svc", user="alice").keeps(v) for v in shown.values())
    assert all(Filter().keeps(v) for v in shown.values())
