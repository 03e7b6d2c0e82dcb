"""The stolen access token scenario over HTTP, against the demo's real servers: a Bearer token
replayed from another machine works, a DPoP-bound one is refused at the resource (RFC 9449 §7)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from typing import Any

import httpx
import pytest

from valetkey.cli.demo_stack import DemoStack
from valetkey.core.challenge import parse_challenges
from valetkey.core.events import FlowEvent

pytestmark = pytest.mark.e2e

DPOP_STEPS = [
    "The victim logs in; the token is bound to the client's key",
    "API call with the token and a DPoP proof",
    "The attacker copies the access token",
    "Replays the token as Bearer",
    "Refuses: the token is bound to a DPoP key",
    "Tries again with a proof of their own key",
    "Refuses: the proof's key is not the token's",
    "Outcome: stopped by DPoP",
]
BEARER_STEPS = [
    "The victim logs in; the client gets a Bearer token",
    "API call with the Bearer token",
    "The attacker copies the access token",
    "Replays the token from another machine",
    "Answers with the victim's data",
    "Outcome: got through, DPoP was off",
]


@pytest.fixture
def app(demo: DemoStack) -> Iterator[tuple[httpx.Client, str]]:
    with httpx.Client(base_url=demo.urls["client"], timeout=30.0, trust_env=False) as http:
        match = re.search(r'name="csrf" value="([^"]+)"', http.get("/attacks").text)
        assert match
        yield http, match.group(1)


def run(app: tuple[httpx.Client, str], defence: str) -> tuple[str, str]:
    """Run the scenario from the attacks page; its flow id and its outcome as the page shows it."""
    http, csrf = app
    page = http.post(
        "/attacks/run",
        data={"csrf": csrf, "scenario": "stolen_token", "defence": defence},
        follow_redirects=True,
    ).text
    item = re.search(
        rf'data-name="stolen_token" data-defence="{defence}" data-as-expected="true">(.*?)</li>',
        page,
        re.S,
    )
    assert item, page
    flow = re.search(r"Flow <code>([^<]+)</code>", item.group(1))
    outcome = re.search(r'class="outcome">([^<]*)<', item.group(1))
    assert flow and outcome
    return flow.group(1), unescape(outcome.group(1))


def events(demo: DemoStack, flow_id: str, name: str) -> list[FlowEvent]:
    return [e for e in list(demo.sink.events) if e.flow_id == flow_id and e.name == name]


def view(demo: DemoStack, flow_id: str) -> dict[str, Any]:
    r = httpx.get(f"{demo.urls['inspector']}/api/flows/{flow_id}", trust_env=False)
    assert r.status_code == 200
    found: dict[str, Any] = r.json()
    return found


def failed_rules(event: FlowEvent) -> list[tuple[str, str]]:
    return [(c.rule, c.spec) for c in event.checks if c.outcome == "fail"]


def test_a_stolen_dpop_bound_token_is_refused_at_the_resource(
    demo: DemoStack, app: tuple[httpx.Client, str]
) -> None:
    flow_id, outcome = run(app, "on")
    assert "invalid_token" in outcome
    [received] = events(demo, flow_id, "token.received")
    assert received.data["token_type"] == "DPoP"
    # The genuine client's call, with its proof, was accepted: the token itself is valid.
    [genuine] = events(demo, flow_id, "resource_request.authenticated")
    assert ("check_token_scheme_binding", "pass", "DPoP token") in [
        (c.rule, c.outcome, c.detail) for c in genuine.checks
    ]
    as_bearer, own_key = events(demo, flow_id, "resource_request.rejected")
    assert as_bearer.error == own_key.error == "invalid_token"
    assert failed_rules(as_bearer) == [("check_token_scheme_binding", "RFC 9449 §7.1, §7.2")]
    assert failed_rules(own_key) == [("check_proof_key_binding", "RFC 9449 §4.3 (12), §6, §10")]
    answers = [e for e in events(demo, flow_id, "api.responded") if e.data.get("actor")]
    assert [a.http.status if a.http else None for a in answers] == [401, 401]
    challenges = [
        parse_challenges([a.http.response_headers["www-authenticate"]]) if a.http else []
        for a in answers
    ]
    # As Bearer: refused in the Bearer challenge, with the DPoP scheme offered (RFC 9449 §7.1).
    assert [scheme for scheme, _ in challenges[0]] == ["bearer", "dpop"]
    assert challenges[0][0][1]["error"] == "invalid_token"
    assert "bound to a DPoP key" in challenges[0][0][1]["error_description"]
    assert "ES256" in challenges[0][1][1]["algs"]
    # With the attacker's proof: refused in the DPoP challenge.
    assert dict(challenges[1])["dpop"]["error"] == "invalid_token"
    assert "another DPoP key" in dict(challenges[1])["dpop"]["error_description"]
    drawn = view(demo, flow_id)
    assert drawn["kind"] == "attack:stolen_token" and drawn["lanes"][0] == ["attacker", "Attacker"]
    assert [s["title"] for s in drawn["steps"]] == DPOP_STEPS
    assert [s["status"] for s in drawn["steps"]][3:7] == ["done", "failed", "done", "failed"]
    assert drawn["badge"] == ["stopped by DPoP", "ok"]
    refusal = drawn["steps"][4]
    assert [sub["source"] for sub in refusal["subs"]] == ["resource_server"]
    assert [sub["target"] for sub in refusal["subs"]] == ["attacker"]


def test_a_stolen_bearer_token_works_from_another_machine(
    demo: DemoStack, app: tuple[httpx.Client, str]
) -> None:
    flow_id, outcome = run(app, "off")
    assert "worked from the attacker's machine: 200" in outcome
    [received] = events(demo, flow_id, "token.received")
    assert received.data["token_type"] == "Bearer"
    genuine, replayed = events(demo, flow_id, "resource_request.authenticated")
    assert genuine.data["sub"] == replayed.data["sub"]  # the attacker sees the victim's data
    assert not events(demo, flow_id, "resource_request.rejected")
    drawn = view(demo, flow_id)
    assert [s["title"] for s in drawn["steps"]] == BEARER_STEPS
    assert all(s["status"] == "done" for s in drawn["steps"])
    assert drawn["badge"] == ["got through (defence off)", "insecure"]
    assert "sender-constrained" in drawn["steps"][-1]["explain"]
