"""Live flows laid onto the canonical steps, as plain values: events in, numbered steps out."""

from __future__ import annotations

from typing import Any

from tests.inspector.recorded import (
    AS,
    attack_finished,
    attack_started,
    demo_pkce_login,
    ev,
    server_login,
    token_issued,
)
from valetkey.core.events import Check, FlowEvent, HttpExchange
from valetkey.inspector.curl import curl_command
from valetkey.inspector.flows import flow_kind, flow_view
from valetkey.inspector.mapping import causal_order

__all__ = ["ev"]  # tests/inspector/test_demo_http.py builds its events with it


def statuses(view: dict[str, Any]) -> dict[int, str]:
    return {s["number"]: s["status"] for s in view["steps"]}


def subs(view: dict[str, Any], number: int) -> list[str]:
    return [s["name"] for s in view["steps"][number - 1]["subs"]]


def test_kind_comes_from_what_the_events_say() -> None:
    def kind(*events: FlowEvent) -> str:
        return flow_kind(list(events))

    assert kind(ev("authorization.requested", data={"pkce": "S256", "scope": []})) == "pkce"
    assert kind(ev("authorization.requested", data={"pkce": None})) == "confidential"
    assert kind(ev("authorization.requested", data={"pkce": "S256", "scope": ["openid"]})) == "oidc"
    assert kind(ev("token.issued", data={"grant_type": "refresh_token"})) == "refresh"
    assert (
        kind(ev("token.issued", data={"grant_type": "client_credentials"})) == "client_credentials"
    )
    assert kind(ev("token.issued", deprecated="RFC 9700 §2.4")) == "legacy"
    # The client's hint wins: it knows before the server sees anything.
    assert kind(ev("login.clicked", data={"kind": "oidc"})) == "oidc"
    assert kind(ev("resource_request.authenticated"), ev("jwks.fetched")) == "call"
    assert kind(attack_started("f-a", "code_interception")) == "attack:code_interception"
    assert kind(attack_started("f-a", "unknown_scenario")) == "pkce"  # its hint
    assert kind(ev("something.else")) == "other"


def test_a_demo_pkce_login_reads_eleven_steps_with_its_sub_steps_nested() -> None:
    view = flow_view("f-1", demo_pkce_login("f-1"))
    assert view["kind"] == "pkce" and view["complete"] and not view["failed"]
    assert [s["number"] for s in view["steps"]] == list(range(1, 12))
    assert set(statuses(view).values()) == {"done"}
    assert subs(view, 4) == ["login.shown"]
    assert subs(view, 5) == ["consent.shown"]
    assert subs(view, 9) == ["token.received"]
    assert subs(view, 11) == ["jwks.fetched"]  # the resource server's key fetch, inside its step
    # The token exchange is two steps: the request (8) and the server's answer (9).
    assert view["steps"][7]["part"] == "request" and view["steps"][8]["part"] == "response"
    assert view["steps"][8]["event"]["name"] == "token.issued"
    assert [ln[0] for ln in view["lanes"]] == [
        "user",
        "browser",
        "client",
        "authorization_server",
        "resource_server",
    ]
    assert view["extras"] == [] and view["badge"] == ["complete", "ok"]


def test_a_remembered_sign_in_is_skipped_not_renumbered() -> None:
    view = flow_view("f-1", demo_pkce_login("f-1", sign_in=False))
    assert len(view["steps"]) == 11
    assert statuses(view)[4] == "skipped" and statuses(view)[5] == "done"
    assert view["steps"][3]["note"] == "Skipped: sign-in remembered."
    assert view["steps"][10]["status"] == "done"


def test_a_flow_started_by_the_cli_is_complete_when_the_server_issues_the_token() -> None:
    # The CLI sends no events of its own and names no flow: the server's token.issued joins the
    # flow of the code it redeems.
    view = flow_view("f-1", [*server_login("f-1"), token_issued("f-1")])
    assert view["complete"] and view["badge"] == ["complete", "ok"]
    status = statuses(view)
    assert [status[n] for n in (1, 2, 7)] == ["unobserved"] * 3  # the CLI's own steps
    assert [status[n] for n in (3, 4, 5, 6, 8, 9)] == ["done"] * 6
    assert [status[n] for n in (10, 11)] == ["unused"] * 2  # no call with the token yet
    assert "pending" not in status.values()


def test_a_flow_in_progress_leaves_the_rest_pending() -> None:
    view = flow_view("f-1", demo_pkce_login("f-1")[:4])
    assert not view["complete"] and view["badge"] == ["in progress", "progress"]
    assert statuses(view)[3] == "done" and statuses(view)[4] == "active"  # on the sign-in page
    assert {statuses(view)[n] for n in range(5, 12)} == {"pending"}


def test_a_refused_token_request_fails_its_answer_and_ends_the_flow() -> None:
    rejected = ev(
        "token.rejected",
        flow="f-1",
        channel="back",
        source="client",
        target=AS,
        error="invalid_grant",
        checks=(Check("check_code_verifier", "fail", "RFC 7636 §4.6"),),
        data={"grant_type": "authorization_code"},
    )
    view = flow_view("f-1", [*server_login("f-1"), rejected])
    status = statuses(view)
    assert status[8] == "done" and status[9] == "failed"  # sent, then refused
    assert status[10] == status[11] == "not_reached"
    assert view["complete"] and view["failed"] and view["badge"] == ["invalid_grant", "failed"]


def test_causes_come_before_their_effects() -> None:
    # The server emits the rotation while it handles the POST /token, before the request's event.
    rotated = ev("refresh_token.rotated", flow="r-1", channel="back", source=AS)
    issued = token_issued("r-1", "refresh_token")
    received = ev("token.received", flow="r-1", channel="back", source=AS)
    assert [e.name for e in causal_order([issued, rotated, received])] == [
        "token.issued",
        "refresh_token.rotated",
        "token.received",
    ]
    view = flow_view("r-1", [rotated, issued, received])
    assert view["kind"] == "refresh"
    assert [s["name"] for s in view["steps"][:4]] == [
        "",  # the CLI's decision to refresh: not reported
        "token.issued",
        "refresh_token.rotated",
        "token.issued",
    ]
    assert statuses(view)[1] == "unobserved" and view["complete"]


def test_an_attack_has_its_attacker_lane_and_ends_with_the_outcome() -> None:
    flow = "f-a"
    intercepted = ev("code.intercepted", flow=flow, data={"actor": "malicious app"})
    rejected = ev(
        "token.rejected",
        flow=flow,
        channel="back",
        source="client",
        target=AS,
        error="invalid_grant",
        data={"grant_type": "authorization_code"},
    )
    events = [
        attack_started(flow, "code_interception"),
        *demo_pkce_login(flow)[:8],  # the victim's login up to the code
        intercepted,
        rejected,
        attack_finished(flow),
    ]
    view = flow_view(flow, events)
    assert view["kind"] == "attack:code_interception"
    assert view["lanes"][0] == ["attacker", "Attacker"]
    steps = view["steps"]
    assert steps[-1]["title"] == "Outcome: stopped by PKCE" and steps[-1]["status"] == "done"
    assert [s["number"] for s in steps] == list(range(1, len(steps) + 1))
    assert not {"pending", "not_reached", "unused"} & {s["status"] for s in steps}
    stolen = next(s for s in steps if s["name"] == "code.intercepted")
    assert (stolen["source"], stolen["target"]) == ("browser", "attacker")
    post = steps[stolen["number"]]
    assert post["source"] == "attacker" and steps[post["number"]]["status"] == "failed"
    assert view["badge"] == ["stopped by PKCE", "ok"]


def test_an_attack_with_the_defence_off_draws_its_own_variant() -> None:
    flow = "f-c"
    events = [
        attack_started(flow, "login_csrf", defence_on=False),
        *demo_pkce_login(flow)[:8],
        ev("code.planted", flow=flow),
        ev("callback.received", flow=flow, data={"insecure": "the client skipped the state check"}),
        token_issued(flow),
        attack_finished(flow),
    ]
    view = flow_view(flow, events)
    titles = [s["title"] for s in view["steps"]]
    assert "Redeems the attacker's code" in titles
    assert titles[-1] == "Outcome: got through, the state check was off"
    assert view["badge"] == ["got through (defence off)", "insecure"] and view["insecure"]
    # With the defence on, the client never redeems: that step is not drawn at all.
    on = flow_view(
        flow,
        [
            attack_started(flow, "login_csrf"),
            *demo_pkce_login(flow)[:8],
            ev("code.planted", flow=flow),
            ev("callback.rejected", flow=flow, error="invalid_callback"),
            attack_finished(flow),
        ],
    )
    assert "Redeems the attacker's code" not in [s["title"] for s in on["steps"]]
    assert on["steps"][-2]["status"] == "failed" and on["steps"][-1]["status"] == "done"


def test_an_unexpected_attack_outcome_is_flagged() -> None:
    flow = "f-x"
    events = [attack_started(flow, "redirect_tampering"), attack_finished(flow, as_expected=False)]
    view = flow_view(flow, events)
    assert view["steps"][-1]["status"] == "failed"
    assert view["badge"] == ["UNEXPECTED outcome", "failed"]


def test_events_outside_any_canonical_flow_are_drawn_in_order() -> None:
    view = flow_view("n-1", [ev("session.ended", source="user", target=AS)])
    assert view["kind"] == "other" and view["steps"] == []
    assert [x["title"] for x in view["extras"]] == ["Signs out"]


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


def _stolen_token(flow: str, defence_on: bool, outcomes: list[str | None]) -> list[FlowEvent]:
    """The scenario's events, in order: the victim's login and API call, the theft, then each of
    the attacker's calls (the resource server's event, and the API's answer as the attacker's
    machine receives it; None: accepted)."""
    out = [attack_started(flow, "stolen_token", defence_on), *demo_pkce_login(flow)]
    out.append(ev("access_token.stolen", flow=flow, channel="local", source="client"))
    for error in outcomes:
        name = "resource_request.rejected" if error else "resource_request.authenticated"
        out.append(
            ev(name, flow=flow, channel="back", source="client", target="resource_server", error=error)
        )
        out.append(
            ev(
                "api.responded",
                flow=flow,
                channel="back",
                source="resource_server",
                target="client",
                error=error,
                data={"actor": "attacker"},
            )
        )
    return [*out, attack_finished(flow)]


def test_a_stolen_token_draws_the_victims_call_apart_from_the_attackers_replays() -> None:
    flow = "f-st"
    on = flow_view(flow, _stolen_token(flow, True, ["invalid_token", "invalid_token"]))
    steps = on["steps"]
    assert [s["name"] for s in steps[:4]] == [
        "token.issued",
        "resource_request.authenticated",  # the victim's call stays in the client's step
        "access_token.stolen",
        "resource_request.rejected",
    ]
    assert (steps[1]["source"], steps[3]["source"]) == ("client", "attacker")
    assert [s["status"] for s in steps[3:7]] == ["done", "failed", "done", "failed"]
    assert [(x["source"], x["target"]) for x in steps[4]["subs"]] == [
        ("resource_server", "attacker")
    ]
    assert steps[-1]["title"] == "Outcome: stopped by DPoP" and len(steps) == 8
    off = flow_view(flow, _stolen_token(flow, False, [None]))
    titles = [s["title"] for s in off["steps"]]
    assert "Tries again with a proof of their own key" not in titles  # the DPoP variant only
    assert titles[-2:] == ["Answers with the victim's data", "Outcome: got through, DPoP was off"]
    assert off["badge"] == ["got through (defence off)", "insecure"]
